// First-run demo data, created through the public REST API like any operator would: an account
// with mutual TLS on, a device credential, and the dev root registered as its trust anchor.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DevPki } from './dev-pki.js';
import { localRequest } from './local-http.js';

export interface Demo {
  accountId: string;
  username: string;
  passwordFile: string;
}

export class ApiCallError extends Error {
  override name = 'ApiCallError';
  constructor(readonly method: string, readonly path: string, readonly status: number, readonly body: string) {
    super(`${method} ${path} answered ${status}: ${body.slice(0, 300)}`);
  }
}

export function apiClient(baseUrl: string, token: string) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await localRequest(new URL(path, baseUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = r.text;
    if (r.status < 200 || r.status >= 300) throw new ApiCallError(method, path, r.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/**
 * The console URL `twoway up` prints when it made the demo account: the account's "Connect a device"
 * page, so the first sign-in opens the demo account ready to connect its device.
 */
export const demoConsoleLink = (gatewayUrl: string, accountId: string): string => `${gatewayUrl}/#/connect?account=${encodeURIComponent(accountId)}`;

export async function ensureDemo(dataDir: string, gatewayUrl: string, token: string, pki: DevPki): Promise<Demo> {
  const stateFile = join(dataDir, 'demo.json');
  const passwordFile = join(pki.dir, 'device.password');
  if (existsSync(stateFile) && existsSync(passwordFile)) return { ...(JSON.parse(await readFile(stateFile, 'utf8')) as Omit<Demo, 'passwordFile'>), passwordFile };
  const api = apiClient(gatewayUrl, token);
  const account = await api<{ id: string }>('POST', '/api/v1/accounts', { name: 'demo' });
  await api('PUT', `/api/v1/accounts/${account.id}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } });
  const password = randomBytes(18).toString('base64url');
  await writeFile(passwordFile, password, { mode: 0o600 });
  await api('POST', `/api/v1/accounts/${account.id}/credentials`, { username: pki.deviceCn, password });
  await api('POST', `/api/v1/accounts/${account.id}/certificates`, {
    name: 'twoway dev root CA',
    usage: 'MUTUAL_AUTHENTICATION',
    certificate: await readFile(pki.caFile, 'utf8'),
  });
  const demo = { accountId: account.id, username: pki.deviceCn };
  await writeFile(stateFile, JSON.stringify(demo, null, 2));
  return { ...demo, passwordFile };
}
