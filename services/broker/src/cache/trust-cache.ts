// The trust set of an ancestry (every registration of the account and its ancestors, any status),
// parsed once and kept warm. A certificate event for account A drops every set whose ancestry
// contains A, which covers A's descendants (anchors of an account apply to its sub-accounts).
import { AnchorSet, parseSinglePem, type ParsedCert } from '@twoway/pki';
import type { CertStatus, TrustEntry } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import { Generation } from './generation.js';

/** A certificate change as the revocation path decodes it (revocation/on-status-changed.ts). */
export type CertChange =
  | { type: 'cert.status_changed'; account: string; certificateId: string; after: CertStatus; timeMs: number }
  | { type: 'cert.deleted'; account: string; certificateId: string; timeMs: number }
  | { type: 'cert.added'; account: string; certificateId: string; fingerprint: string; status: CertStatus; pem?: string; timeMs: number };

const SEVERITY: Record<CertStatus, number> = { VALID: 0, SUSPENDED: 1, REVOKED: 2 };

export interface TrustSnapshot {
  readonly ancestry: readonly string[];
  /**
   * Registrations with status VALID: the only anchors a first validation may use. Indexed once per
   * snapshot, so a connect costs the same with 1 or 100,000 registrations (docs/benchmarks.md).
   */
  readonly validAnchors: AnchorSet;
  /** Every registration, whatever its status: used to name the precise status reason (built on first use). */
  readonly allAnchors: AnchorSet;
  /** The worst status a fingerprint is registered with anywhere in the ancestry. */
  statusOf(fingerprint: string): CertStatus | undefined;
  /** Every registration of a fingerprint in the ancestry (a dry run names them; the connect path does not ask). */
  registrationsOf(fingerprint: string): { id: string; accountId: string; fingerprint: string; status: CertStatus }[];
  readonly hasNonValid: boolean;
  /** Registrations in the set (what a rebuild costs: each one is indexed again). */
  readonly size: number;
}

/** What parsing a registration needs (and names, when it fails). */
type ParseInput = Pick<TrustEntry, 'id' | 'accountId' | 'fingerprint' | 'pem'>;

/** One registration as the set keeps it: `updatedAt` orders a change event against what was fetched. */
interface Registration {
  accountId: string;
  fingerprint: string;
  status: CertStatus;
  updatedAtMs: number;
}

/**
 * A trust set that a change event updates in place (one registration added, removed or given a new
 * status) instead of being fetched again whole: with 100,000 registrations a refetch is 100 pages from
 * cert-registry and every registration indexed again, per replica, per change. An update costs one
 * registration's work. Events can arrive after the fetch that already saw them (the feed lags the
 * database): each registration keeps the time of its last change, and an older event is ignored.
 */
export class TrustSet implements TrustSnapshot {
  private readonly regs = new Map<string, Registration>();
  /** Registration ids by fingerprint (one certificate may be registered in several accounts). */
  private readonly byFingerprint = new Map<string, Set<string>>();
  private readonly parsedByFingerprint = new Map<string, ParsedCert>();
  private readonly worst = new Map<string, CertStatus>();
  private nonValid = 0;
  private all: AnchorSet | undefined;
  readonly validAnchors = new AnchorSet();

  constructor(
    readonly ancestry: readonly string[],
    entries: readonly TrustEntry[],
    private readonly parse: (e: ParseInput) => ParsedCert | undefined,
  ) {
    // Without `updatedAt` (an older cert-registry) every later event applies, as before.
    for (const e of entries) this.upsert(e, e.updatedAt ? Date.parse(e.updatedAt) : 0);
  }

  get allAnchors(): AnchorSet {
    return (this.all ??= new AnchorSet(this.parsedByFingerprint.values()));
  }
  statusOf(fingerprint: string): CertStatus | undefined {
    return this.worst.get(fingerprint);
  }
  registrationsOf(fingerprint: string): { id: string; accountId: string; fingerprint: string; status: CertStatus }[] {
    return [...(this.byFingerprint.get(fingerprint) ?? [])].map((id) => {
      const r = this.regs.get(id)!;
      return { id, accountId: r.accountId, fingerprint, status: r.status };
    });
  }
  get hasNonValid(): boolean {
    return this.nonValid > 0;
  }
  get size(): number {
    return this.regs.size;
  }

  /** Add a registration, or replace what is known of it; false if the event is older than what the set holds. */
  upsert(e: Pick<TrustEntry, 'id' | 'accountId' | 'fingerprint' | 'status' | 'pem'>, atMs: number): boolean {
    const prev = this.regs.get(e.id);
    if (prev && prev.updatedAtMs > atMs) return false;
    if (prev && prev.fingerprint !== e.fingerprint) this.remove(e.id, atMs);
    this.regs.set(e.id, { accountId: e.accountId, fingerprint: e.fingerprint, status: e.status, updatedAtMs: atMs });
    let ids = this.byFingerprint.get(e.fingerprint);
    if (!ids) this.byFingerprint.set(e.fingerprint, (ids = new Set()));
    ids.add(e.id);
    if (!this.parsedByFingerprint.has(e.fingerprint)) {
      const p = this.parse(e);
      if (p) {
        this.parsedByFingerprint.set(e.fingerprint, p);
        this.all?.add(p);
      }
    }
    this.restate(e.fingerprint);
    return true;
  }

  /** A new status for a registration this set holds; false if unknown here (the set must be fetched again) or older. */
  setStatus(id: string, status: CertStatus, atMs: number): 'applied' | 'stale' | 'unknown' {
    const r = this.regs.get(id);
    if (!r) return 'unknown';
    if (r.updatedAtMs > atMs) return 'stale';
    r.status = status;
    r.updatedAtMs = atMs;
    this.restate(r.fingerprint);
    return 'applied';
  }

  remove(id: string, _atMs: number): void {
    const r = this.regs.get(id);
    if (!r) return;
    this.regs.delete(id);
    const ids = this.byFingerprint.get(r.fingerprint)!;
    ids.delete(id);
    if (ids.size === 0) {
      this.byFingerprint.delete(r.fingerprint);
      this.parsedByFingerprint.delete(r.fingerprint);
      this.all?.delete(r.fingerprint);
    }
    this.restate(r.fingerprint);
  }

  /** The fingerprint's worst status over its registrations, and the VALID anchor index, brought up to date. */
  private restate(fp: string): void {
    const before = this.worst.get(fp);
    let worst: CertStatus | undefined;
    for (const id of this.byFingerprint.get(fp) ?? []) {
      const st = this.regs.get(id)!.status;
      if (!worst || SEVERITY[st] > SEVERITY[worst]) worst = st;
    }
    if (before !== undefined && before !== 'VALID') this.nonValid -= 1;
    if (worst !== undefined && worst !== 'VALID') this.nonValid += 1;
    if (worst === undefined) this.worst.delete(fp);
    else this.worst.set(fp, worst);
    const p = this.parsedByFingerprint.get(fp);
    if (worst === 'VALID' && p) this.validAnchors.add(p);
    else this.validAnchors.delete(fp);
  }
}

/** A snapshot of `entries` (tests and callers that need no updates). */
export function buildSnapshot(ancestry: readonly string[], entries: readonly TrustEntry[], parse: (e: TrustEntry) => ParsedCert | undefined): TrustSnapshot {
  return new TrustSet(ancestry, entries, parse as (e: ParseInput) => ParsedCert | undefined);
}

const keyOf = (ancestry: readonly string[]) => ancestry.join('/');

export interface TrustCacheBounds {
  /** Trust sets (one per ancestry that connected). */
  sets: number;
  /** Parsed registrations, shared by the sets; a set keeps its own alive while it is cached. */
  parsed: number;
}

export class TrustCache {
  private readonly sets: LruMap<string, TrustSet>;
  /**
   * Parsed registrations by fingerprint: a fingerprint names immutable content, so this survives
   * invalidation and a rebuild after a change parses nothing again. Bounded: an evicted registration
   * still cached in a set stays alive there and is parsed again only by the next rebuild.
   */
  private readonly parsed: LruMap<string, ParsedCert | null>;
  readonly generation = new Generation();

  constructor(
    bounds: TrustCacheBounds,
    private readonly onParseError: (e: ParseInput, err: unknown) => void = () => undefined,
  ) {
    this.sets = new LruMap(bounds.sets);
    this.parsed = new LruMap(bounds.parsed);
  }

  get(ancestry: readonly string[]): TrustSnapshot | undefined {
    return this.sets.get(keyOf(ancestry));
  }

  build(ancestry: readonly string[], entries: readonly TrustEntry[]): TrustSet {
    return new TrustSet(ancestry, entries, (e) => {
      let p = this.parsed.get(e.fingerprint);
      if (p === undefined) {
        try {
          p = parseSinglePem(e.pem);
        } catch (err) {
          this.onParseError(e, err);
          p = null;
        }
        this.parsed.set(e.fingerprint, p);
      }
      return p ?? undefined;
    });
  }

  put(s: TrustSet, gen: number): void {
    if (gen === this.generation.current) this.sets.set(keyOf(s.ancestry), s);
  }

  /**
   * Apply a certificate change of `c.account` to every cached set whose ancestry contains it (the
   * account and all its descendants). A set that cannot take it (a status for a registration it does
   * not hold, an addition without its PEM) is dropped and returned, for a refill ahead of the next
   * connect. The generation moves either way: a fetch in flight may predate the change.
   */
  applyCertChange(c: CertChange): TrustSnapshot[] {
    this.generation.bump();
    const dropped: TrustSnapshot[] = [];
    for (const [k, s] of this.sets) {
      if (!s.ancestry.includes(c.account)) continue;
      let ok = true;
      if (c.type === 'cert.status_changed') ok = s.setStatus(c.certificateId, c.after, c.timeMs) !== 'unknown';
      else if (c.type === 'cert.deleted') s.remove(c.certificateId, c.timeMs);
      else if (c.pem) s.upsert({ id: c.certificateId, accountId: c.account, fingerprint: c.fingerprint, status: c.status, pem: c.pem }, c.timeMs);
      else ok = false;
      if (!ok) {
        this.sets.delete(k);
        dropped.push(s);
      }
    }
    this.updates += 1;
    return dropped;
  }
  /** Changes applied to the cached sets in place. */
  updates = 0;

  /**
   * Drop every cached set whose ancestry contains `accountId` (the account and all its descendants).
   * Returns the sets dropped, for a refill ahead of the next connect.
   */
  invalidateAccount(accountId: string): TrustSnapshot[] {
    this.generation.bump();
    const dropped: TrustSnapshot[] = [];
    for (const [k, s] of this.sets) {
      if (s.ancestry.includes(accountId)) {
        this.sets.delete(k);
        dropped.push(s);
      }
    }
    return dropped;
  }

  clear(): void {
    this.generation.bump();
    this.sets.clear();
  }
  get size(): number {
    return this.sets.size;
  }
  get parsedSize(): number {
    return this.parsed.size;
  }
  get evictions(): { sets: number; parsed: number } {
    return { sets: this.sets.evictions, parsed: this.parsed.evictions };
  }
}
