// A ready test PKI: root → intermediate → devices, plus a localhost server certificate. Built once per
// process (EC P-256, a few ms) so every test can call makeTestPki() freely.
import { createRootCa, issueIntermediateCa, issueDeviceCert, issueServerCert } from '@twoway/pki';
import type { Issued, IssueDeviceOptions } from '@twoway/pki';

export type TestDeviceOptions = Omit<IssueDeviceOptions, 'issuer' | 'commonName'> & {
  /** Sign with the root instead of the intermediate. */
  issuer?: 'root' | 'intermediate' | Issued;
};

export interface TestPki {
  /** Self-signed root CA ("twoway test root"). */
  root: Issued;
  /** Intermediate CA signed by the root ("twoway test intermediate"); its chainPem is itself. */
  intermediate: Issued;
  /** Server certificate for CN=localhost, SANs dns:localhost, ip:127.0.0.1, ip:::1, signed by the intermediate. */
  server: Issued;
  /** A fresh device (clientAuth) certificate signed by the intermediate; chainPem = device + intermediate. */
  device(commonName: string, opts?: TestDeviceOptions): Promise<Issued>;
}

let cached: Promise<Omit<TestPki, 'device'>> | undefined;

async function build(): Promise<Omit<TestPki, 'device'>> {
  const root = await createRootCa({ commonName: 'twoway test root' });
  const intermediate = await issueIntermediateCa({ issuer: root, commonName: 'twoway test intermediate' });
  const server = await issueServerCert({ issuer: intermediate, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1', 'ip:::1'] });
  return { root, intermediate, server };
}

/** The shared test PKI. Pass `{ fresh: true }` for a PKI of its own (e.g. an untrusted "other" CA). */
export async function makeTestPki(opts: { fresh?: boolean } = {}): Promise<TestPki> {
  const base = opts.fresh ? await build() : await (cached ??= build());
  return {
    ...base,
    device(commonName, o = {}) {
      const { issuer, ...rest } = o;
      const iss = issuer === 'root' ? base.root : issuer === undefined || issuer === 'intermediate' ? base.intermediate : issuer;
      return issueDeviceCert({ ...rest, issuer: iss, commonName });
    },
  };
}
