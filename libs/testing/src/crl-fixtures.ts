// CRLs for tests: `issueCrl` signs one with the CA's key in-process (libs/pki craftCrl: any dates,
// numbers and extensions, 100,000 entries in about a second), `opensslCrl` has `openssl ca -gencrl`
// make it, as a CA operator would (an independent encoder).
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { craftCrl, toPem, type CraftCrlOptions, type Issued } from '@twoway/pki';
import { tempDir } from './temp-dir.js';

export interface TestCrlOptions extends Omit<CraftCrlOptions, 'issuer' | 'signer' | 'entries'> {
  /** Serial numbers (hex) the CRL lists. */
  serials?: readonly string[];
  /** Sign with this CA's key instead (a CRL "from another key" under the CA's name). */
  signedBy?: Issued;
}

/** A CRL of `ca` (its subject as issuer, signed with its key), DER. */
export function issueCrl(ca: Issued, o: TestCrlOptions = {}): Uint8Array {
  const privateKey = createPrivateKey((o.signedBy ?? ca).keyPem);
  const { serials = [], signedBy: _, ...rest } = o;
  return craftCrl({
    ...rest,
    issuer: new Uint8Array(ca.cert.x.subjectName.toArrayBuffer()),
    signer: { privateKey, publicKey: createPublicKey(privateKey) },
    entries: serials.map((serial) => ({ serial, reason: 1 })),
  });
}

export const crlPem = (der: Uint8Array): string => toPem(der, 'X509 CRL');

const run = promisify(execFile);
const opensslTime = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/**
 * `openssl ca -gencrl` for `ca` listing `serials` (hex) with reason keyCompromise, cRLNumber `number`:
 * the CRL as an estate's CA software makes it. DER.
 */
export async function opensslCrl(ca: Issued, serials: readonly string[], o: { number?: number; thisUpdate?: Date; nextUpdate?: Date } = {}): Promise<Uint8Array> {
  await using dir = await tempDir('twoway-crl-');
  const f = (n: string) => join(dir.path, n);
  // index.txt as `openssl ca` keeps it: status, expiry, revocation date and reason, serial (even-length hex), file, subject.
  const index = serials.map((s, i) => `R\t491231235959Z\t250101000000Z,keyCompromise\t${(s.length % 2 ? `0${s}` : s).toUpperCase()}\tunknown\t/CN=device-${i}\n`);
  await writeFile(f('index.txt'), index.join(''));
  await writeFile(f('crlnumber'), `${(o.number ?? 1).toString(16).padStart(2, '0')}\n`);
  await writeFile(f('ca.pem'), ca.certPem);
  await writeFile(f('ca.key'), ca.keyPem, { mode: 0o600 });
  await writeFile(f('ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${f('index.txt')}\ncrlnumber = ${f('crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 7\n`);
  const thisUpdate = o.thisUpdate ?? new Date(Date.now() - 60_000);
  const nextUpdate = o.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * 86_400_000);
  await run('openssl', ['ca', '-config', f('ca.cnf'), '-gencrl', '-keyfile', f('ca.key'), '-cert', f('ca.pem'), '-crl_lastupdate', opensslTime(thisUpdate), '-crl_nextupdate', opensslTime(nextUpdate), '-out', f('crl.pem')], { maxBuffer: 16 * 1024 * 1024 });
  await run('openssl', ['crl', '-in', f('crl.pem'), '-outform', 'DER', '-out', f('crl.der')]);
  return new Uint8Array(await readFile(f('crl.der')));
}
