// cert-registry's metrics in Prometheus text format, served at /metrics: certificate expiry (the counts
// of the last expiry scan, docs/operations.md "Certificate expiry"). Nothing is queried when scraped.
import type { FastifyInstance } from 'fastify';
import { promFamily, type PromSeries } from '@twoway/telemetry';
import { EXPIRY_GAUGE_MAX_ACCOUNTS, type ExpiryScanner } from '../expiry-scanner.js';

export function metricsText(scanner: ExpiryScanner): string {
  const p = 'twoway_cert_registry';
  const counts = scanner.counts;
  const perAccount = (key: 'expiring' | 'expired'): PromSeries[] => (counts?.accounts ?? []).map((a) => ({ labels: { account: a.accountId }, value: a[key] }));
  return `${[
    promFamily(`${p}_certificates_expiring`, 'gauge', 'Registered certificates (not revoked) whose notAfter is within TWOWAY_EXPIRY_WARNING_DAYS, per account, at the last expiry scan', perAccount('expiring')),
    promFamily(`${p}_certificates_expired`, 'gauge', 'Registered certificates (not revoked) past their notAfter, per account, at the last expiry scan', perAccount('expired')),
    promFamily(`${p}_expiry_accounts_omitted`, 'gauge', `Accounts with expiring or expired certificates left out of the per-account gauges (beyond the ${EXPIRY_GAUGE_MAX_ACCOUNTS} with the most)`, [{ value: counts?.accountsOmitted ?? 0 }]),
    promFamily(`${p}_expiry_notices_total`, 'counter', 'Expiry audit events this replica wrote, by type (cert.expiring, cert.expired)', [
      { labels: { type: 'cert.expiring' }, value: scanner.written.expiring },
      { labels: { type: 'cert.expired' }, value: scanner.written.expired },
    ]),
    promFamily(`${p}_expiry_scans_total`, 'counter', 'Expiry scans by outcome (ok, failed: retried at the next interval)', [
      { labels: { outcome: 'ok' }, value: scanner.scans.ok },
      { labels: { outcome: 'failed' }, value: scanner.scans.failed },
    ]),
    promFamily(`${p}_expiry_last_scan_seconds`, 'gauge', 'Unix time of the last completed expiry scan (0: none yet)', [{ value: scanner.lastScanAt ? Math.floor(scanner.lastScanAt.getTime() / 1000) : 0 }]),
  ].join('\n')}\n`;
}

export function registerMetrics(app: FastifyInstance, scanner: ExpiryScanner): void {
  app.get('/metrics', async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metricsText(scanner)));
}
