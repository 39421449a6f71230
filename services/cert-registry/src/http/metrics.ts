// cert-registry's own metrics, read when /metrics is scraped (ServiceMetrics, libs/telemetry): certificate
// expiry (the counts of the last expiry scan, docs/operations.md "Certificate expiry") and what became of
// the dry runs it was asked for (docs/limits.md). Nothing is queried when scraped.
import type { Sample, ServiceMetrics } from '@twoway/telemetry';
import { EXPIRY_GAUGE_MAX_ACCOUNTS, type ExpiryScanner } from '../expiry-scanner.js';
import type { DryRunCounts } from './dry-run-route.js';

export function registerMetrics(metrics: ServiceMetrics, scanner: ExpiryScanner, dryRuns: DryRunCounts): void {
  const p = 'twoway_cert_registry';
  const perAccount = (key: 'expiring' | 'expired') => (): Sample[] => (scanner.counts?.accounts ?? []).map((a) => ({ labels: { account: a.accountId }, value: a[key] }));
  metrics.view(`${p}_certificates_expiring`, 'Registered certificates (not revoked) whose notAfter is within TWOWAY_EXPIRY_WARNING_DAYS, per account, at the last expiry scan', 'gauge', perAccount('expiring'));
  metrics.view(`${p}_certificates_expired`, 'Registered certificates (not revoked) past their notAfter, per account, at the last expiry scan', 'gauge', perAccount('expired'));
  metrics.gauge(`${p}_expiry_accounts_omitted`, `Accounts with expiring or expired certificates left out of the per-account gauges (beyond the ${EXPIRY_GAUGE_MAX_ACCOUNTS} with the most)`, () => scanner.counts?.accountsOmitted ?? 0);
  metrics.view(`${p}_expiry_notices_total`, 'Expiry audit events this replica wrote, by type (cert.expiring, cert.expired)', 'counter', () => [
    { labels: { type: 'cert.expiring' }, value: scanner.written.expiring },
    { labels: { type: 'cert.expired' }, value: scanner.written.expired },
  ]);
  metrics.view(`${p}_expiry_scans_total`, 'Expiry scans by outcome (ok, failed: retried at the next interval)', 'counter', () => [
    { labels: { outcome: 'ok' }, value: scanner.scans.ok },
    { labels: { outcome: 'failed' }, value: scanner.scans.failed },
  ]);
  metrics.gauge(`${p}_expiry_last_scan_seconds`, 'Unix time of the last completed expiry scan (0: none yet)', () => (scanner.lastScanAt ? Math.floor(scanner.lastScanAt.getTime() / 1000) : 0));
  metrics.view(`${p}_dry_runs_total`, 'Dry runs of the connect decision asked through this replica, by result (answered, rate_limited: TWOWAY_DRY_RUNS_PER_MINUTE reached, invalid: a chain refused, unavailable: no broker answered)', 'counter', () => [
    { labels: { result: 'answered' }, value: dryRuns.answered },
    { labels: { result: 'rate_limited' }, value: dryRuns.rateLimited },
    { labels: { result: 'invalid' }, value: dryRuns.invalid },
    { labels: { result: 'unavailable' }, value: dryRuns.unavailable },
  ]);
}
