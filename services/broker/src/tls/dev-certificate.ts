// Without TWOWAY_TLS_CERT_FILE/KEY_FILE the broker still serves TLS: it makes a development CA and a
// localhost server certificate under $TWOWAY_DATA_DIR/broker-tls/ once, and says where the CA is.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRootCa, issueServerCert } from '@twoway/pki';
import type { Logger } from '@twoway/telemetry';

export async function devServerCertificate(dataDir: string, log: Logger): Promise<{ certFile: string; keyFile: string }> {
  const dir = join(dataDir, 'broker-tls');
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server.key');
  const caFile = join(dir, 'ca.pem');
  try {
    await readFile(certFile);
    await readFile(keyFile);
  } catch {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const ca = await createRootCa({ commonName: 'twoway broker development CA' });
    const server = await issueServerCert({ issuer: ca, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1', 'ip:::1'] });
    await writeFile(caFile, ca.certPem);
    await writeFile(certFile, server.chainPem);
    await writeFile(keyFile, server.keyPem, { mode: 0o600 });
  }
  log.warn({ caFile, certFile }, 'TWOWAY_TLS_CERT_FILE not set: serving a development server certificate; devices must trust the CA file');
  return { certFile, keyFile };
}
