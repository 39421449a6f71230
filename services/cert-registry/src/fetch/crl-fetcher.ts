// Fetches the CRL of every CA that has a distribution point, on the schedule kept with it in the
// database (so any cert-registry replica may fetch it, and each due fetch is claimed by one): every
// TWOWAY_CRL_FETCH_INTERVAL_MS (sooner when the CRL's nextUpdate comes first), after a failure again
// from 30 s, doubling up to the interval. A fetched CRL passes the same checks as an uploaded one; a
// fetch that delivers no usable CRL is recorded with the distribution point and audited.
import { randomUUID } from 'node:crypto';
import type { Actor, ErrorCode, Revocation } from '@twoway/contracts';
import { ApiError } from '@twoway/http';
import type { Logger } from '@twoway/telemetry';
import type { DueFetch, RevocationStore } from '../db/revocation-store.js';
import type { WriteContext } from '../db/certificate-store.js';
import { checkCrl, nextFetchAfterSuccess } from '../domain/revocation.js';
import { downloadCrl } from './download.js';

export const FETCH_ACTOR: Actor = { kind: 'system', id: 'crl-fetch', name: 'cert-registry CRL fetch' };
/**
 * `concurrency` distribution points fetched at once, `batch` taken per round; the schedule is read every
 * `maxTickMs` at most (the fetch interval bounds it too).
 */
const ROUND = { concurrency: 4, batch: 16, maxTickMs: 10_000 } as const;

export interface CrlFetcherOptions {
  store: RevocationStore;
  log: Logger;
  intervalMs: number;
  timeoutMs: number;
  maxBytes: number;
  now?: () => Date;
}

export class CrlFetcher {
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private stopped = false;
  private stopping?: Promise<void>;
  /** wake() came during a round: look again right after it. */
  private again = false;

  private constructor(private readonly o: CrlFetcherOptions) {}

  static start(o: CrlFetcherOptions): CrlFetcher {
    const f = new CrlFetcher(o);
    f.schedule(0);
    return f;
  }

  private now(): Date {
    return (this.o.now ?? (() => new Date()))();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.round ??= this.runDue()
        .catch((err: unknown) => this.o.log.warn({ err }, 'CRL fetch round failed; the next one retries'))
        .finally(() => {
          this.round = undefined;
          this.schedule(this.again ? 0 : Math.min(ROUND.maxTickMs, this.o.intervalMs));
          this.again = false;
        });
    }, ms);
    this.timer.unref();
  }

  /** Look at the schedule now (a distribution point was just set). */
  wake(): void {
    if (this.round) this.again = true;
    else this.schedule(0);
  }

  /** Fetch every due distribution point this replica can claim. */
  async runDue(): Promise<void> {
    const due = await this.o.store.dueFetches(this.now(), ROUND.batch);
    let next = 0;
    const worker = async () => {
      while (next < due.length && !this.stopped) {
        const d = due[next++]!;
        if (!(await this.o.store.claimFetch(d, this.now(), this.o.timeoutMs + 60_000))) continue;
        await this.fetch(d).catch(() => undefined); // recorded and audited by fetch()
      }
    };
    await Promise.all(Array.from({ length: Math.min(ROUND.concurrency, due.length) }, worker));
  }

  /** Fetch one CA's CRL now (REST `POST …/crl/fetch`); throws what went wrong after recording it. */
  async fetchNow(accountId: string, certificateId: string): Promise<Revocation> {
    const st = await this.o.store.state(accountId, certificateId, this.now());
    if (!st.distributionPoint) throw new ApiError('BAD_REQUEST', 'this CA has no CRL distribution point: set one with PUT …/crl/distribution-point, or upload its CRL');
    return this.fetch({ certificateId: st.certificateId, accountId, url: st.distributionPoint.url, nextFetchAt: new Date(0) });
  }

  private async fetch(d: DueFetch): Promise<Revocation> {
    const ctx: WriteContext = { actor: FETCH_ACTOR, now: this.now(), newId: randomUUID, accountPath: await this.o.store.fetchAccountPath(d.certificateId) };
    try {
      const ca = await this.o.store.ca(d.accountId, d.certificateId);
      const bytes = await downloadCrl(d.url, { timeoutMs: this.o.timeoutMs, maxBytes: this.o.maxBytes });
      const crl = checkCrl(bytes, ca, ctx.now, this.o.maxBytes);
      const nextFetchAt = nextFetchAfterSuccess(this.o.intervalMs, ctx.now.getTime(), crl.nextUpdate);
      const r = await this.o.store.storeCrl(d.accountId, d.certificateId, crl, { kind: 'fetch', url: d.url, nextFetchAt }, ctx);
      this.o.log.info({ account: d.accountId, certificateId: d.certificateId, url: d.url, changed: r.changed, crlNumber: r.revocation.crl?.number, entries: r.revocation.crl?.entries }, r.changed ? 'CRL fetched and stored' : 'CRL fetched, unchanged');
      return r.revocation;
    } catch (err) {
      const code: ErrorCode = err instanceof ApiError ? err.code : 'CRL_FETCH_FAILED';
      const message = err instanceof ApiError ? err.message : 'the fetch failed unexpectedly';
      this.o.log.warn({ err, account: d.accountId, certificateId: d.certificateId, url: d.url, code }, 'CRL fetch failed');
      // A CA deleted meanwhile has nothing left to record the failure on.
      if (code !== 'CERT_NOT_FOUND') await this.o.store.recordFetchFailure(d, { code, message }, this.o.intervalMs, ctx);
      throw err;
    }
  }

  /** Stop scheduling and wait for a running round. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      if (this.timer) clearTimeout(this.timer);
      await this.round;
    })();
    return this.stopping;
  }
}
