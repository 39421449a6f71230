// Shared by the benchmarks: percentiles, a provisioned fleet account, printing figures.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { System, TestPki } from '@twoway/testing';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
export function summary(xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}
export const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');

export interface Fleet {
  accountId: string;
  username: string;
  password: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  intermediateId: string;
}

/** An account with mutual TLS only, one credential, the root and intermediate registered, one device certificate. */
export async function provisionFleet(sys: System, pki: TestPki, dir: string, name = 'bench'): Promise<Fleet> {
  const must = async (r: Promise<{ status: number; body: any }>, ok: number) => {
    const x = await r;
    if (x.status !== ok) throw new Error(`setup call answered ${x.status}: ${JSON.stringify(x.body)}`);
    return x.body;
  };
  const acc = await must(sys.api('POST', '/api/v1/accounts', { name }), 201);
  await must(sys.api('PUT', `/api/v1/accounts/${acc.id}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } }), 200);
  const username = `${name}-device`;
  const password = 'bench-password-123';
  await must(sys.api('POST', `/api/v1/accounts/${acc.id}/credentials`, { username, password }), 201);
  await must(sys.api('POST', `/api/v1/accounts/${acc.id}/certificates`, { name: 'root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem }), 201);
  const inter = await must(sys.api('POST', `/api/v1/accounts/${acc.id}/certificates`, { name: 'intermediate', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.intermediate.certPem }), 201);
  const dev = await pki.device(username);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, dev.chainPem);
  await writeFile(keyFile, dev.keyPem, { mode: 0o600 });
  return { accountId: acc.id, username, password, caFile: sys.caFile, certFile, keyFile, certPem: dev.chainPem, keyPem: dev.keyPem, intermediateId: inter.id };
}

/**
 * Mosquitto configured for the rule twoway applies: a client certificate required and checked against
 * the fleet CA, a password file, TLS 1.2+, TCP_NODELAY (as twoway's listeners).
 */
export function mosquittoConf(o: { port: number; cafile: string; certfile: string; keyfile: string; passwordFile: string }): string {
  return [
    'per_listener_settings false',
    `listener ${o.port} 127.0.0.1`,
    `cafile ${o.cafile}`,
    `certfile ${o.certfile}`,
    `keyfile ${o.keyfile}`,
    'require_certificate true',
    'tls_version tlsv1.2',
    `password_file ${o.passwordFile}`,
    'allow_anonymous false',
    'log_type error',
    'max_connections -1',
    'max_queued_messages 100000',
    // Without it mosquitto answers CONNACK after a delayed ACK (~40 ms).
    'set_tcp_nodelay true',
  ].join('\n') + '\n';
}
