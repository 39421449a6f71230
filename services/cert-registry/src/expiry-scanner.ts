// The expiry scan: every TWOWAY_EXPIRY_SCAN_INTERVAL_MS (and at start) the registrations whose notAfter
// is within TWOWAY_EXPIRY_WARNING_DAYS are audited once (`cert.expiring`), and once more when it has
// passed (`cert.expired`); then the counts behind the expiry gauges are read again. Every replica scans:
// the store writes a notice only while the registration is as the scan read it, so one replica audits
// each crossing (docs/operations.md, "Certificate expiry").
import { randomUUID } from 'node:crypto';
import { DAY_MS } from '@twoway/contracts';
import type { Resolver } from '@twoway/http';
import type { Logger } from '@twoway/telemetry';
import { toCertificate, type CertificateStore, type ExpiryCounts, type ExpiryPosition } from './db/certificate-store.js';
import type { ExpiryNotice } from './db/entities.js';
import { expiryNoticeDue } from './domain/expiry.js';
import { certExpiryNotice } from './domain/events.js';

/** Registrations read and written per transaction; a scan goes on page by page until none is left. */
export const EXPIRY_SCAN_PAGE = 500;
/** Accounts the per-account expiry gauges show (those with the most); the rest are counted as omitted. */
export const EXPIRY_GAUGE_MAX_ACCOUNTS = 1000;

export interface ExpiryScannerOptions {
  store: CertificateStore;
  /** The accounts' ancestries, for the events' `accountPath` (subtree audit queries). */
  resolver: Pick<Resolver, 'ancestry'>;
  windowDays: number;
  intervalMs: number;
  log: Logger;
  now: () => Date;
}

export interface ExpiryScanResult {
  written: Record<ExpiryNotice, number>;
  /** Notices due whose account's ancestry could not be read: left for the next scan. */
  deferred: number;
}

export class ExpiryScanner {
  /** Counts of the last completed scan (undefined before the first). */
  counts: ExpiryCounts | undefined;
  /** When the last scan completed. */
  lastScanAt: Date | undefined;
  /** Notices this replica wrote since it started, and scans by outcome: the metrics. */
  readonly written: Record<ExpiryNotice, number> = { expiring: 0, expired: 0 };
  readonly scans = { ok: 0, failed: 0 };
  private chain: Promise<unknown> = Promise.resolve();
  private running = false;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  private constructor(private readonly o: ExpiryScannerOptions) {
    this.timer = setInterval(() => {
      // A scan slower than the interval is not stacked up behind itself.
      if (!this.running) void this.scan().catch(() => undefined);
    }, o.intervalMs);
    this.timer.unref();
  }

  /** Starts the timer and a first scan (not awaited: the service is ready without it). */
  static start(o: ExpiryScannerOptions): ExpiryScanner {
    const s = new ExpiryScanner(o);
    void s.scan().catch(() => undefined);
    return s;
  }

  /** One scan, after any scan in progress (so it sees every write made before the call). */
  scan(): Promise<ExpiryScanResult> {
    const next = this.chain.then(() => this.run());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async run(): Promise<ExpiryScanResult> {
    const result: ExpiryScanResult = { written: { expiring: 0, expired: 0 }, deferred: 0 };
    if (this.stopped) return result;
    this.running = true;
    const { store, windowDays, log } = this.o;
    const now = this.o.now();
    const until = new Date(now.getTime() + windowDays * DAY_MS);
    // One ancestry request per account and scan; null: it could not be read this time.
    const paths = new Map<string, string[] | null>();
    try {
      let after: ExpiryPosition | undefined;
      for (;;) {
        const rows = await store.expiryCandidates(now, until, EXPIRY_SCAN_PAGE, after);
        const items = [];
        for (const row of rows) {
          const notice = expiryNoticeDue(row, now, windowDays);
          if (!notice) continue;
          const accountPath = await this.ancestry(row.accountId, paths);
          if (!accountPath) {
            result.deferred += 1;
            continue;
          }
          items.push({ row, notice, audit: certExpiryNotice(toCertificate(row), notice, windowDays, { now, newId: randomUUID, accountPath }) });
        }
        for (const n of await store.recordExpiryNotices(items)) {
          result.written[n] += 1;
          this.written[n] += 1;
        }
        const last = rows[rows.length - 1];
        if (rows.length < EXPIRY_SCAN_PAGE || !last) break;
        after = { notAfter: last.notAfter, id: last.id };
      }
      this.counts = await store.expiryCounts(now, until, EXPIRY_GAUGE_MAX_ACCOUNTS);
      this.lastScanAt = now;
      this.scans.ok += 1;
      if (result.written.expiring || result.written.expired) log.info({ ...result.written, windowDays }, 'certificate expiry audited');
      if (result.deferred) log.warn({ deferred: result.deferred }, 'expiry notices deferred to the next scan: account ancestry unavailable');
      return result;
    } catch (err) {
      this.scans.failed += 1;
      log.warn({ err }, 'expiry scan failed; the next one tries again');
      throw err;
    } finally {
      this.running = false;
    }
  }

  private async ancestry(accountId: string, paths: Map<string, string[] | null>): Promise<string[] | null> {
    if (!paths.has(accountId)) {
      paths.set(
        accountId,
        await this.o.resolver.ancestry(accountId).then(
          (a) => a.map((x) => x.id),
          () => null,
        ),
      );
    }
    return paths.get(accountId) ?? null;
  }

  /** Clears the timer and waits for a scan in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.chain;
  }
}
