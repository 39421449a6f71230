// Reading and writing the PKI files of `twoway pki`: a CA directory holds ca.pem (the certificate),
// ca.key (PKCS#8, mode 0600) and, for an intermediate, chain.pem (itself plus the issuers above it,
// without the root). Keys are never printed.
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import type { Issuer } from '@twoway/pki';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const CA_CERT = 'ca.pem';
export const CA_KEY = 'ca.key';
export const CA_CHAIN = 'chain.pem';

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} '${file}' (${code ?? 'error'}): check the path`);
  }
}

export async function readCaDir(dir: string): Promise<Issuer> {
  const certFile = join(dir, CA_CERT);
  const keyFile = join(dir, CA_KEY);
  if (!(await exists(certFile)) || !(await exists(keyFile))) {
    throw new UsageError(`'${dir}' is not a CA directory: it needs ${CA_CERT} and ${CA_KEY} (create one with 'twoway pki init-ca --cn NAME --out ${dir}')`);
  }
  const chainFile = join(dir, CA_CHAIN);
  return {
    certPem: await readText(certFile, 'CA certificate'),
    keyPem: await readText(keyFile, 'CA key'),
    chainPem: (await exists(chainFile)) ? await readText(chainFile, 'CA chain') : undefined,
  };
}

/** Creates `dir` (0700 when new) and refuses to overwrite any of `names` unless `force`. */
export async function prepareOut(dir: string, names: string[], force: boolean): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (force) return;
  for (const n of names) {
    if (await exists(join(dir, n))) throw new UsageError(`'${join(dir, n)}' already exists: choose another --out directory or pass --force`);
  }
}

export async function writePublic(dir: string, name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text, { mode: 0o644 });
  return p;
}

/** Private keys: mode 0600 at creation, and again in case the file existed with wider rights. */
export async function writeKey(dir: string, name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text, { mode: 0o600 });
  await chmod(p, 0o600);
  return p;
}

/** A file name for a certificate's CN: path separators and odd characters become '_'. */
export function safeFileStem(cn: string): string {
  const s = cn.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return s.slice(0, 120) || 'cert';
}
