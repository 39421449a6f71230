// account-settings' metrics in Prometheus text format, served at /metrics: the verified-password cache
// (docs/limits.md). Read from the cache's own counts when scraped, so a credential check pays nothing.
import type { FastifyInstance } from 'fastify';
import type { VerifiedPasswords } from '../domain/verified-passwords.js';

type Series = { labels?: string; value: number };

function family(name: string, type: 'counter' | 'gauge', help: string, series: Series[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...series.map((s) => `${name}${s.labels ?? ''} ${s.value}`)].join('\n');
}

export function metricsText(verified: VerifiedPasswords): string {
  const p = 'twoway_account_settings_verified_passwords';
  return `${[
    family(`${p}_hits_total`, 'counter', 'Credential checks that recognised a recently verified password without scrypt', [{ value: verified.hits }]),
    family(`${p}_misses_total`, 'counter', 'Checks of a known credential that found no usable entry and ran scrypt (no entry, another password, a changed hash, too old)', [
      { value: verified.misses },
    ]),
    family(`${p}_evictions_total`, 'counter', 'Entries dropped to stay within TWOWAY_VERIFIED_PASSWORD_CACHE_MAX (cause=bound) or because their TTL passed (cause=ttl)', [
      { labels: '{cause="bound"}', value: verified.evictions },
      { labels: '{cause="ttl"}', value: verified.expired },
    ]),
    family(`${p}_entries`, 'gauge', 'Credentials whose verified password is remembered', [{ value: verified.size }]),
  ].join('\n')}\n`;
}

export function registerMetrics(app: FastifyInstance, verified: VerifiedPasswords): void {
  app.get('/metrics', async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metricsText(verified)));
}
