// The development PKI `twoway up` generates on first run under $TWOWAY_DATA_DIR/pki/: a root that
// devices trust (ca.pem), an intermediate, the broker's server certificate for localhost/127.0.0.1
// (with the intermediate, so clients that trust only the root can build the chain) and one demo
// device certificate (with the intermediate: the device sends its chain). Reused on later runs.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DevPki {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  deviceCertFile: string;
  deviceKeyFile: string;
  deviceCn: string;
  created: boolean;
}

export const DEMO_DEVICE_CN = 'demo-device';

export async function ensureDevPki(dataDir: string): Promise<DevPki> {
  const dir = join(dataDir, 'pki');
  const pki: DevPki = {
    dir,
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    deviceCertFile: join(dir, 'device.pem'),
    deviceKeyFile: join(dir, 'device.key'),
    deviceCn: DEMO_DEVICE_CN,
    created: false,
  };
  if (existsSync(pki.caFile) && existsSync(pki.serverKeyFile) && existsSync(pki.deviceKeyFile)) return pki;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Loaded only to make the PKI: the launcher keeps what it loaded for as long as it supervises, and
  // on every later run the files are already there.
  const { createRootCa, issueDeviceCert, issueIntermediateCa, issueServerCert } = await import('@twoway/pki');
  const root = await createRootCa({ commonName: 'twoway dev root CA' });
  const inter = await issueIntermediateCa({ issuer: root, commonName: 'twoway dev intermediate CA', pathLen: 0 });
  const server = await issueServerCert({ issuer: inter, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1', 'ip:::1'] });
  const device = await issueDeviceCert({ issuer: inter, commonName: DEMO_DEVICE_CN });
  const key = { mode: 0o600 } as const;
  await writeFile(join(dir, 'ca.key'), root.keyPem, key);
  await writeFile(pki.caFile, root.certPem);
  await writeFile(join(dir, 'intermediate.pem'), inter.certPem);
  await writeFile(join(dir, 'intermediate.key'), inter.keyPem, key);
  await writeFile(pki.serverCertFile, server.chainPem);
  await writeFile(pki.serverKeyFile, server.keyPem, key);
  await writeFile(pki.deviceCertFile, device.chainPem);
  await writeFile(pki.deviceKeyFile, device.keyPem, key);
  return { ...pki, created: true };
}

export const readText = (f: string) => readFile(f, 'utf8');
