// cert-registry's metrics in Prometheus text format, served at /metrics: certificate expiry (the counts
// of the last expiry scan, docs/operations.md "Certificate expiry") and what became of the dry runs it
// was asked for (docs/limits.md). Nothing is queried when scraped.
import type { FastifyInstance } from 'fastify';
import { promFamily, type PromSeries } from '@twoway/telemetry';
import { EXPIRY_GAUGE_MAX_ACCOUNTS, type ExpiryScanner } from '../expiry-scanner.js';
import type { DryRunCounts } from './dry-run-route.js';

export function metricsText(scanner: ExpiryScanner, dryRuns: DryRunCounts): string {
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
    promFamily(`${p}_dry_runs_total`, 'counter', 'Dry runs of the connect decision asked through this replica, by result (answered, rate_limited: TWOWAY_DRY_RUNS_PER_MINUTE reached, invalid: a chain refused, unavailable: no broker answered)', [
      { labels: { result: 'answered' }, value: dryRuns.answered },
      { labels: { result: 'rate_limited' }, value: dryRuns.rateLimited },
      { labels: { result: 'invalid' }, value: dryRuns.invalid },
      { labels: { result: 'unavailable' }, value: dryRuns.unavailable },
    ]),
  ].join('\n')}\n`;
}

export function registerMetrics(app: FastifyInstance, scanner: ExpiryScanner, dryRuns: DryRunCounts): void {
  app.get('/metrics', async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metricsText(scanner, dryRuns)));
}
