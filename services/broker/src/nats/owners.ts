// The questions the broker asks the owning services over NATS, each answered from a warm cache
// when it can be (docs/design.md §4: the connect path reads caches filled and invalidated by events).
import {
  CredentialChainGetReply, CredentialChainRecordReply, CredentialInspectReply, CredentialVerifyReply, RequestSubjects, RevokedSerialsReply, SettingsGetReply, TrustSetDigestReply, TrustSetReply,
  type CredentialVerifyReply as CredentialReply,
} from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import { RemoteError, UnavailableError, type Bus } from '@twoway/nats';
import type { CredentialCache, VerifiedCredential } from '../cache/credential-cache.js';
import type { AccountSettings, SettingsCache } from '../cache/settings-cache.js';
import { SingleFlight } from '../cache/single-flight.js';
import type { RevokedSerials, TrustCache, TrustSet, TrustSnapshot } from '../cache/trust-cache.js';
import type { KeyKind } from '../connect/decide.js';
import type { BrokerMetrics } from '../http/metrics.js';
import { RevocationListUnreadableError, TrustSetTooLargeError } from '../errors.js';

/**
 * Pages of one trust set at most (a page is up to 1,000 registrations): 1,000,000 registrations in one
 * ancestry. Beyond it the set is treated as unanswerable rather than held half-read.
 */
const MAX_TRUST_PAGES = 1_000;
/**
 * Pages of one CA's revoked serials at most (a page holds ~15,000 within the default max_payload): about
 * 15 million serials. A CRL that large does not exist in practice; past it the connect is undecidable.
 */
const MAX_SERIAL_PAGES = 1_000;
/** A list that changes while it is read is read again this often, then given up (undecidable). */
const SERIAL_READ_ATTEMPTS = 3;

export interface Caches {
  trust: TrustCache;
  settings: SettingsCache;
  credentials: CredentialCache;
}

/**
 * One connect's questions: the trace its NATS requests join (the connect span's traceparent) and
 * how the warm caches answered them, for the connect span's attributes.
 */
export interface OwnerQuery {
  traceparent: string;
  cacheHits: number;
  cacheMisses: number;
}

export type CredentialAnswer =
  | { ok: true; credential: VerifiedCredential; settings: AccountSettings }
  | { ok: false; reason: string; accountId?: string; ancestry?: readonly string[] };

/**
 * A trust-set page, or a set's digest, is asked this often before the fetch (or check) fails: a reply
 * lost to a timeout or shed by a busy cert-registry is asked again where it stopped, so a 100-page set
 * fetched while three replicas start at once is not begun again from its first page after each timeout
 * (which never ends once every attempt times out somewhere). Spaced RETRY_MS × attempt.
 */
const OWNER_ATTEMPTS = 4;
const RETRY_MS = 250;
/**
 * How long one trust-set page, or a set's digest (a scan of its registrations), may take. Longer than a connect's own requests: a page is read by the one
 * fetch every waiting connect shares (and that goes on after they gave up), and a cert-registry slow
 * with three replicas reading 100 pages each at once answers later, not never; asking again sooner
 * only adds to its queue.
 */
const TRUST_PAGE_TIMEOUT_MS = 10_000;

/** `ask()`, again after a timeout, no responder or OVERLOADED (anything else is an answer), OWNER_ATTEMPTS in all. */
async function askAgain<T>(ask: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask();
    } catch (err) {
      const retry = err instanceof UnavailableError || (err instanceof RemoteError && err.code === 'OVERLOADED');
      if (!retry || attempt >= OWNER_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS * attempt));
    }
  }
}
/** Trust sets, and registrations in them, refilled in the background after one change. */
const REFILL_MAX = 16;
const REFILL_MAX_REGISTRATIONS = 10_000;
/** Credentials whose recorded chain this replica remembers having sent; beyond it the least recently used leave (and are sent again, once). */
const RECORDED_CHAINS_MAX = 100_000;

export class Owners {
  private readonly trustFetches = new SingleFlight<TrustSnapshot>();
  private readonly settingsFetches = new SingleFlight<AccountSettings>();
  private readonly credentialFetches = new SingleFlight<CredentialAnswer>();
  private readonly serialFetches = new SingleFlight<RevokedSerials>();
  /**
   * Sets cached before NATS went away, by ancestry: a change may have been committed while no event
   * could reach this replica, so each is answered only once cert-registry confirms its digest
   * (`verifyTrust`), and fetched again whole only when it differs.
   */
  private readonly unverified = new Map<string, TrustSet>();
  private readonly verifications = new SingleFlight<void>();
  /** Sets checked after an outage: kept as they were, or dropped and fetched again. */
  readonly trustChecks = { kept: 0, refetched: 0 };
  /** credentialId → the path this replica last had recorded for it (so an unchanged chain costs no request). */
  private readonly recordedChains = new LruMap<string, string>(RECORDED_CHAINS_MAX);

  constructor(
    private readonly bus: Bus,
    readonly caches: Caches,
    private readonly metrics: BrokerMetrics,
  ) {}

  private hit(cache: string, q: OwnerQuery | undefined): void {
    this.metrics.cacheHits.inc({ cache });
    if (q) q.cacheHits++;
  }
  private miss(cache: string, q: OwnerQuery | undefined): void {
    this.metrics.cacheMisses.inc({ cache });
    if (q) q.cacheMisses++;
  }

  /** Throws UnavailableError / RemoteError when account-settings does not answer usefully. */
  /** `chainVerified`: the presented chain verified for this credential's account (lockout exemption, docs/limits.md). */
  async verifyCredential(key: string, keyKind: KeyKind, password: string, sourceAddress: string | undefined, nowMs: number, q?: OwnerQuery, chainVerified = false): Promise<CredentialAnswer> {
    const cached = this.caches.credentials.get(key, password, nowMs);
    if (cached) {
      this.hit('credential', q);
      return { ok: true, credential: cached, settings: await this.settings(cached.accountId, q) };
    }
    this.miss('credential', q);
    const credGen = this.caches.credentials.generation.current;
    // Devices sharing a credential reconnect together (after a restart, a kick, a NATS blink): one
    // password hash in account-settings for all of them, not one each (scrypt is ~60 ms of its CPU).
    const flight = this.caches.credentials.flightKey(key, password, sourceAddress) + (chainVerified ? '\u0000chain' : '');
    return this.credentialFetches.run(flight, credGen, async () => {
      const setGen = this.caches.settings.generation.current;
      const r: CredentialReply = await this.bus.request(
        RequestSubjects.CredentialVerify,
        { key, password, ...(sourceAddress ? { sourceAddress } : {}), ...(chainVerified ? { chainVerified } : {}) },
        CredentialVerifyReply,
        { traceparent: q?.traceparent },
      );
      if (!r.ok || !r.accountId || !r.credentialId) return { ok: false, reason: r.reason ?? 'BAD_CREDENTIALS', accountId: r.accountId, ...(r.ancestry?.length ? { ancestry: r.ancestry } : {}) };
      // An account-settings without the field predates it: nothing required, as before.
      const credential: VerifiedCredential = { accountId: r.accountId, credentialId: r.credentialId, username: r.username ?? key, key, keyKind, requireCertificate: r.requireCertificate ?? false, verifiedAtMs: nowMs };
      this.caches.credentials.put(password, credential, credGen);
      let settings: AccountSettings;
      if (r.settings && r.ancestry?.length) {
        settings = { accountId: r.accountId, settings: r.settings, ancestry: r.ancestry };
        this.caches.settings.put(settings, setGen);
      } else {
        settings = await this.settings(r.accountId, q);
      }
      return { ok: true, credential, settings };
    });
  }

  /**
   * A dry run's credential question (connect/dry-run.ts): answered as `verifyCredential` would be, but
   * account-settings counts no failure and remembers nothing, finds only a credential inside
   * `withinAccount`'s subtree, and checks no password when none is given (`passwordChecked` says
   * whether it did). Nothing is cached from it: a dry run leaves the credential cache as it was.
   */
  async inspectCredential(key: string, keyKind: KeyKind, password: string | undefined, withinAccount: string, nowMs: number, q?: OwnerQuery, chainVerified = false): Promise<CredentialAnswer & { passwordChecked: boolean }> {
    const r = await this.bus.request(
      RequestSubjects.CredentialInspect,
      { key, withinAccount, ...(password !== undefined ? { password } : {}), ...(chainVerified ? { chainVerified } : {}) },
      CredentialInspectReply,
      { traceparent: q?.traceparent },
    );
    const passwordChecked = r.passwordChecked;
    if (!r.ok || !r.accountId || !r.credentialId) return { ok: false, reason: r.reason ?? 'BAD_CREDENTIALS', accountId: r.accountId, ...(r.ancestry?.length ? { ancestry: r.ancestry } : {}), passwordChecked };
    const credential: VerifiedCredential = { accountId: r.accountId, credentialId: r.credentialId, username: r.username ?? key, key, keyKind, requireCertificate: r.requireCertificate ?? false, verifiedAtMs: nowMs };
    const settings = r.settings && r.ancestry?.length ? { accountId: r.accountId, settings: r.settings, ancestry: r.ancestry } : await this.settings(r.accountId, q);
    return { ok: true, credential, settings, passwordChecked };
  }

  /**
   * After a mutual-TLS accept: have account-settings remember the verified path this credential used,
   * unless this replica already had exactly that recorded. Not on the connect path (the caller does
   * not await it for the CONNACK); a failure leaves it to be sent on the next accept.
   */
  async recordChain(credentialId: string, path: readonly string[], seenAtMs: number): Promise<void> {
    const key = path.join(',');
    if (this.recordedChains.get(credentialId) === key) return;
    await this.bus.request(RequestSubjects.CredentialChainRecord, { credentialId, path: [...path], seenAt: new Date(seenAtMs).toISOString() }, CredentialChainRecordReply);
    this.recordedChains.set(credentialId, key);
  }

  /**
   * The path a credential last connected with, asked fresh on every fallback (never cached: another
   * replica may have recorded it a moment ago). Fallbacks are the exception, and this is a read by id.
   */
  async recordedChain(credentialId: string, q?: OwnerQuery): Promise<readonly string[] | null> {
    const r = await this.bus.request(RequestSubjects.CredentialChainGet, { credentialId }, CredentialChainGetReply, { traceparent: q?.traceparent });
    return r.path;
  }

  async settings(accountId: string, q?: OwnerQuery): Promise<AccountSettings> {
    const cached = this.caches.settings.get(accountId);
    if (cached) {
      this.hit('settings', q);
      return cached;
    }
    this.miss('settings', q);
    const gen = this.caches.settings.generation.current;
    return this.settingsFetches.run(accountId, gen, async () => {
      const r = await this.bus.request(RequestSubjects.SettingsGet, { accountId }, SettingsGetReply, { traceparent: q?.traceparent });
      const v: AccountSettings = { accountId: r.accountId, settings: r.settings, ancestry: r.ancestry.length ? r.ancestry : [accountId] };
      this.caches.settings.put(v, gen);
      return v;
    });
  }

  async trustSet(ancestry: readonly string[], q?: OwnerQuery): Promise<TrustSnapshot> {
    let cached = this.caches.trust.get(ancestry);
    // Only after a NATS outage is anything unchecked: the common connect skips the key lookup.
    if (cached && this.unverified.size > 0 && this.unverified.get(ancestry.join('/')) === cached) {
      if (Date.now() < this.uncheckedAnswerUntilMs) {
        this.uncheckedAnswers += 1;
        void this.verifySet(cached);
      } else {
        await this.verifySet(cached);
        cached = this.caches.trust.get(ancestry);
      }
    }
    if (cached) {
      this.hit('trust', q);
      // A revocation change applied in place may leave it waiting for a CA's new list.
      if (!cached.complete) await this.completeLists(cached, q?.traceparent);
      return cached;
    }
    this.miss('trust', q);
    return this.fetchTrust(ancestry, q?.traceparent);
  }

  private fetchTrust(ancestry: readonly string[], traceparent?: string): Promise<TrustSnapshot> {
    const gen = this.caches.trust.generation.current;
    return this.trustFetches.run(ancestry.join('/'), gen, async () => {
      // In pages (cert-registry keeps each reply within NATS max_payload), in registration id order,
      // each loaded as it arrives (in slices: the event loop keeps turning while a large set is indexed).
      const set = this.caches.trust.empty(ancestry);
      let after: string | undefined;
      for (let pages = 0; ; pages++) {
        if (pages >= MAX_TRUST_PAGES) throw new TrustSetTooLargeError(ancestry, set.size);
        const page = after;
        const r = await askAgain(() => this.bus.request(RequestSubjects.TrustSetGet, { accountIds: [...ancestry], ...(page !== undefined ? { after: page } : {}) }, TrustSetReply, { traceparent, timeoutMs: TRUST_PAGE_TIMEOUT_MS }));
        await this.caches.trust.loadSlices(set, r.entries);
        if (r.next === undefined || r.entries.length === 0) break;
        after = r.next;
      }
      this.caches.trust.fillFromCache(set);
      await this.completeLists(set, traceparent);
      this.caches.trust.put(set, gen);
      return set;
    });
  }

  /**
   * After a NATS outage: no cached trust set answers a connect again until its digest is checked
   * (`verifyTrust`, or the connect that needs it first). Fetches begun before now are not kept.
   */
  markTrustUnverified(o: { answerUntilMs?: number } = {}): void {
    this.caches.trust.generation.bump();
    for (const s of this.caches.trust.cached()) this.unverified.set(s.ancestry.join('/'), s);
    if (o.answerUntilMs !== undefined) this.uncheckedAnswerUntilMs = o.answerUntilMs;
  }
  /**
   * Until then a set not checked yet still answers connects (its check runs meanwhile): the staleness
   * bound counted from the outage's start, the same bound that let it answer while NATS was away.
   * Checking a 100,000-registration set takes cert-registry seconds when every replica asks at once, and
   * connects waiting for it missed their deadline. Sessions admitted on such a set are decided again
   * once the sets are checked (revocation/index.ts resync), and a connect still gathering when its set
   * is dropped gathers again (the generation moved).
   */
  private uncheckedAnswerUntilMs = 0;
  /** Trust-set lookups answered from a set not checked yet (within `uncheckedAnswerUntilMs`), in all. */
  uncheckedAnswers = 0;

  /** Check every set marked unverified, `concurrency` at a time; returns when all are kept or dropped. */
  async verifyTrust(concurrency = 4): Promise<{ kept: number; refetched: number }> {
    const before = { ...this.trustChecks };
    const sets = [...this.unverified.values()];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sets.length) await this.verifySet(sets[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, sets.length) }, worker));
    return { kept: this.trustChecks.kept - before.kept, refetched: this.trustChecks.refetched - before.refetched };
  }

  /**
   * Keep `set` if cert-registry's digest of its ancestry equals the set's own, else drop it (the next
   * connect fetches it again). The digest is computed after the answer arrives, so a change event applied
   * in between makes them differ (a drop: safe); equal digests mean nothing was missed. No answer drops
   * it too: fail closed, as a flush would.
   */
  private verifySet(set: TrustSet): Promise<void> {
    const key = set.ancestry.join('/');
    return this.verifications.run(key, 0, async () => {
      let same = false;
      try {
        // cert-registry reconnects at the same moment as this replica: its answer may take a few tries.
        const r = await askAgain(() => this.bus.request(RequestSubjects.TrustSetDigest, { accountIds: [...set.ancestry] }, TrustSetDigestReply, { timeoutMs: TRUST_PAGE_TIMEOUT_MS }));
        const mine = set.digest();
        same = r.count === mine.count && r.digest === mine.digest;
      } catch {
        same = false;
      } finally {
        if (this.unverified.get(key) === set) this.unverified.delete(key);
      }
      if (same) this.trustChecks.kept += 1;
      else {
        this.trustChecks.refetched += 1;
        this.caches.trust.drop(set);
      }
    });
  }

  /**
   * Give the set every revoked-serial list it is pending on: from the cache at their revision, else read
   * from cert-registry, once per CA and revision however many sets and connects wait for it (when a CA's
   * CRL changes, every sub-account's set needs the same list at once).
   */
  private async completeLists(set: TrustSet, traceparent?: string): Promise<void> {
    for (let round = 1; !set.complete; round++) {
      const pending = set.pending;
      // A list read at an older revision than the set's event (cert-registry behind the feed) is read again.
      if (round > SERIAL_READ_ATTEMPTS) throw new RevocationListUnreadableError(pending[0]!.certificateId, `revision ${pending[0]!.revision} not served after ${SERIAL_READ_ATTEMPTS} reads`);
      for (const p of pending) {
        const list = this.caches.trust.revokedSerials(p.certificateId, p.revision)
          ?? (await this.serialFetches.run(`${p.certificateId}@${p.revision}`, 0, () => this.fetchRevokedSerials(p.certificateId, traceparent)));
        set.putRevokedSerials(list);
      }
    }
  }

  /**
   * One CA's revoked serials, page by page (cert-registry keeps each within NATS max_payload). Every page
   * names the revision it was read at; when that moves between pages the list is read again, so a list
   * kept under a revision is exactly that revision's.
   */
  private async fetchRevokedSerials(certificateId: string, traceparent?: string): Promise<RevokedSerials> {
    for (let attempt = 1; ; attempt++) {
      const bySerial = new Map<string, 'crl' | 'manual'>();
      let revision: number | undefined;
      let after: string | undefined;
      let moved = false;
      for (let pages = 0; ; pages++) {
        if (pages >= MAX_SERIAL_PAGES) throw new RevocationListUnreadableError(certificateId, `still incomplete after ${MAX_SERIAL_PAGES} pages (${bySerial.size} serials)`);
        const r = await this.bus.request(RequestSubjects.RevokedSerialsGet, { certificateId, ...(after !== undefined ? { after } : {}) }, RevokedSerialsReply, { traceparent });
        if (revision !== undefined && r.revision !== revision) {
          moved = true;
          break;
        }
        revision = r.revision;
        for (const serial of r.crl) if (!bySerial.has(serial)) bySerial.set(serial, 'crl');
        for (const serial of r.manual) bySerial.set(serial, 'manual');
        if (r.next === undefined) break;
        after = r.next;
      }
      if (!moved) {
        const list: RevokedSerials = { certificateId, revision: revision ?? 0, bySerial };
        this.caches.trust.keepRevokedSerials(list);
        return list;
      }
      if (attempt >= SERIAL_READ_ATTEMPTS) throw new RevocationListUnreadableError(certificateId, `it changed while being read, ${attempt} times`);
    }
  }

  /**
   * Fill again, in the background, trust sets a change has just dropped or left waiting for a CA's new
   * revoked-serial list: the devices it did not concern (and those it kicked, which reconnect at once to
   * be refused) then find a warm set instead of each waiting for cert-registry. A failure only leaves the
   * set to be completed on the next connect.
   * At most REFILL_MAX sets and REFILL_MAX_REGISTRATIONS registrations in all: a change high in the
   * tree drops every set below it, and refilling them all at once would be the very burst this avoids
   * (each set is a reply of every PEM from cert-registry, then ~2 µs a registration to index on this
   * event loop). The rest fill on their next connect, as before.
   */
  refreshTrust(sets: readonly TrustSnapshot[], onError: (err: unknown) => void): void {
    let budget = REFILL_MAX_REGISTRATIONS;
    for (const s of sets.slice(0, REFILL_MAX)) {
      const cached = this.caches.trust.get(s.ancestry);
      // Still cached, waiting for a CA's new revoked-serial list: one read serves every such set.
      if (cached) {
        if (!cached.complete) this.completeLists(cached).catch(onError);
        continue;
      }
      if (s.size > budget) continue;
      budget -= s.size;
      this.fetchTrust(s.ancestry).catch(onError);
    }
  }
}
