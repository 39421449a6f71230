// The trust set of an ancestry (every registration of the account and its ancestors, any status, and
// the revocation data of its CAs), parsed once and kept warm. A change event of account A is applied in
// place to every set whose ancestry contains A, which covers A's descendants (anchors of an account
// apply to its sub-accounts); a set that cannot take it is dropped and fetched again.
import { AnchorSet, caIdentityOf, parseSinglePem, TrustDigest, type ParsedCert } from '@twoway/pki';
import type { CertKind, CertStatus, TrustEntry, TrustRevocation } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import { Generation } from './generation.js';

/** A certificate change as the revocation path decodes it (revocation/decode-change.ts). */
export type CertChange =
  | { type: 'cert.status_changed'; account: string; certificateId: string; after: CertStatus; timeMs: number }
  | { type: 'cert.deleted'; account: string; certificateId: string; timeMs: number }
  | { type: 'cert.added'; account: string; certificateId: string; fingerprint: string; status: CertStatus; kind?: CertKind; pem?: string; timeMs: number };

/**
 * A CA's revocation data changed (revocation/decode-change.ts): its new revision and, from a
 * cert-registry that sends it, what a trust set carries of it (without it the sets are fetched again).
 */
export interface RevocationChange {
  account: string;
  certificateId: string;
  revision: number;
  revocation?: TrustRevocation;
}

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
  /** The parsed certificate of a registered fingerprint (undefined: not in the set, or it does not parse). */
  certOf(fingerprint: string): ParsedCert | undefined;
  readonly hasNonValid: boolean;
  /** Registrations in the set (what a rebuild costs: each one is indexed again). */
  readonly size: number;
  /** Revocation data of the set's CAs, looked up by issuer; undefined when no CA in the ancestry has any. */
  readonly revocation: RevocationIndex | undefined;
}

/**
 * The serials one registered CA revoked, at one revision of its revocation data: its CRL's entries and its
 * revoked-serial entries. Immutable, shared by every trust set that holds the CA (a root of the provider
 * account is in every sub-account's set), and kept across rebuilds while its revision stands.
 */
export interface RevokedSerials {
  readonly certificateId: string;
  readonly revision: number;
  /** Normalised serial → a revoked-serial entry (`manual`) or the CA's CRL (`crl`); an entry wins. */
  readonly bySerial: ReadonlyMap<string, 'crl' | 'manual'>;
}

/** What the CA that issued a certificate says about it. */
export interface IssuerRevocation {
  /** How `serial` is revoked by this CA (any registered copy of it): a revoked-serial entry wins over its CRL. */
  revoked(serial: string): 'crl' | 'manual' | undefined;
  /** Its freshest CRL, when that is past its nextUpdate: the registration it was stored for and the nextUpdate. */
  staleCrl(atMs: number): { fingerprint: string; nextUpdate: string } | undefined;
}

export interface RevocationIndex {
  /**
   * The revocation data of the CA that `issuer` is (same subject and key as a registration: a renewed or
   * cross-signed copy counts as the CA), or undefined. Map lookups: the cost does not grow with CRL size.
   */
  forIssuer(issuer: ParsedCert): IssuerRevocation | undefined;
}

/** A revoked-serial list a set needs before it may answer: the CA's registration and the revision due. */
export interface PendingList {
  certificateId: string;
  revision: number;
}

/** What parsing a registration needs (and names, when it fails). */
type ParseInput = Pick<TrustEntry, 'id' | 'accountId' | 'fingerprint' | 'pem'>;
/** A registration as `upsert` takes it; `kind` `leaf` is kept unparsed (see `TrustSet`). */
type UpsertInput = Pick<TrustEntry, 'id' | 'accountId' | 'fingerprint' | 'status' | 'pem'> & { kind?: TrustEntry['kind'] };

/** One registration as the set keeps it: `updatedAt` orders a change event against what was fetched. */
interface Registration {
  accountId: string;
  fingerprint: string;
  status: CertStatus;
  updatedAtMs: number;
  /** The revision of its revocation data the set holds (0: none seen); orders revocation events likewise. */
  revocationRevision: number;
  /** Its revocation data, when it has any (serials or a CRL). */
  revocation?: TrustRevocation;
}

/** One CA (all registered copies of it) with revocation data: the lists and CRL dates of its copies. */
class CaRevocation implements IssuerRevocation {
  /** Registration ids of its copies that have revocation data. */
  readonly ids = new Set<string>();
  lists: RevokedSerials[] = [];
  crl: { fingerprint: string; nextUpdateMs: number; nextUpdate: string | null } | undefined;

  revoked(serial: string): 'crl' | 'manual' | undefined {
    let how: 'crl' | 'manual' | undefined;
    for (const l of this.lists) {
      const h = l.bySerial.get(serial);
      if (h === 'manual') return h;
      how ??= h;
    }
    return how;
  }
  staleCrl(atMs: number): { fingerprint: string; nextUpdate: string } | undefined {
    return this.crl && this.crl.nextUpdateMs < atMs ? { fingerprint: this.crl.fingerprint, nextUpdate: this.crl.nextUpdate! } : undefined;
  }
}

/**
 * A trust set that a change event updates in place (one registration added, removed or given a new
 * status; one CA's revocation data replaced) instead of being fetched again whole: with 100,000
 * registrations a refetch is 100 pages from cert-registry and every registration indexed again, per
 * replica, per change. An update costs one registration's work. Events can arrive after the fetch that
 * already saw them (the feed lags the database): each registration keeps the time of its last change
 * and the revision of its revocation data, and an older event is ignored.
 *
 * A revocation change whose serials this replica has not read yet leaves the set pending on that list
 * (`pending`): whoever hands the set to a connect reads the list first (nats/owners.ts), so a set never
 * answers with a list older than the revocation data it holds.
 *
 * Registered device leaves (pinned certificates, most of a 100,000-registration set) are kept as their
 * PEM and anchor by fingerprint alone (`AnchorSet.pin`): a device presenting one presents exactly that
 * certificate, and a leaf issues nothing, so the set need not parse it to admit the device. A leaf is
 * parsed when it is asked for (`certOf`) or when its status is not VALID: suspending one must also stop
 * another certificate of the same subject and key (connect/evaluate-chain.ts `standingOf` asks
 * `allAnchors.sameCa`, which sees parsed registrations only). Loading a set then costs a map entry per
 * leaf instead of a parse (about 1 ms each, tens of kilobytes of objects).
 */
export class TrustSet implements TrustSnapshot {
  private readonly regs = new Map<string, Registration>();
  /** Registration ids by fingerprint (one certificate may be registered in several accounts). */
  private readonly byFingerprint = new Map<string, Set<string>>();
  private readonly parsedByFingerprint = new Map<string, ParsedCert>();
  /** Registered leaves not parsed (yet): fingerprint → what parsing it needs. */
  private readonly unparsedLeaves = new Map<string, ParseInput>();
  private readonly worst = new Map<string, CertStatus>();
  private nonValid = 0;
  private all: AnchorSet | undefined;
  readonly validAnchors = new AnchorSet();
  /** CAs with revocation data, by CA identity (subject and key). */
  private readonly cas = new Map<string, CaRevocation>();
  /** The CA identity of each registration with revocation data. */
  private readonly caOf = new Map<string, string>();
  /** Revoked-serial lists held, by registration id (kept alive by the set while it is cached). */
  private readonly lists = new Map<string, RevokedSerials>();
  /** Registration id → the revision its list must have at least, for lists not held yet. */
  private readonly missing = new Map<string, number>();
  private readonly index: RevocationIndex = {
    forIssuer: (issuer) => {
      const id = caIdentityOf(issuer);
      return id === undefined ? undefined : this.cas.get(id);
    },
  };

  constructor(
    readonly ancestry: readonly string[],
    entries: readonly TrustEntry[],
    private readonly parse: (e: ParseInput) => ParsedCert | undefined,
  ) {
    for (const e of entries) this.load(e);
  }

  /** A registration as a fetch read it (with its revocation data). */
  load(e: TrustEntry): void {
    // Without `updatedAt` (an older cert-registry) every later event applies, as before.
    this.upsert(e, e.updatedAt ? Date.parse(e.updatedAt) : 0);
    if (e.revocation) this.setRevocation(e.id, e.revocation.revision, e.revocation);
  }

  get allAnchors(): AnchorSet {
    if (!this.all) {
      this.all = new AnchorSet(this.parsedByFingerprint.values());
      for (const fp of this.unparsedLeaves.keys()) this.all.pin(fp);
    }
    return this.all;
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
  certOf(fingerprint: string): ParsedCert | undefined {
    return this.parsedByFingerprint.get(fingerprint) ?? this.parseLeaf(fingerprint);
  }
  /** Registered leaves held unparsed (their fingerprint is all a connect needs of them). */
  get unparsedLeafCount(): number {
    return this.unparsedLeaves.size;
  }

  /** Parse a leaf kept unparsed and index it like any registration; undefined when it does not parse. */
  private parseLeaf(fp: string): ParsedCert | undefined {
    const e = this.unparsedLeaves.get(fp);
    if (!e) return undefined;
    this.unparsedLeaves.delete(fp);
    const p = this.parse(e);
    if (!p) {
      // Registered, so cert-registry parsed it: should this replica not, it is no anchor (as before).
      this.all?.delete(fp);
      this.validAnchors.delete(fp);
      return undefined;
    }
    this.parsedByFingerprint.set(fp, p);
    this.all?.add(p);
    if (this.worst.get(fp) === 'VALID') {
      this.validAnchors.delete(fp);
      this.validAnchors.add(p);
    }
    return p;
  }
  get hasNonValid(): boolean {
    return this.nonValid > 0;
  }
  get size(): number {
    return this.regs.size;
  }
  get revocation(): RevocationIndex | undefined {
    return this.cas.size > 0 ? this.index : undefined;
  }
  /** Lists this set needs before it may answer a connect (empty: it is complete). */
  get pending(): PendingList[] {
    return [...this.missing].map(([certificateId, revision]) => ({ certificateId, revision }));
  }
  get complete(): boolean {
    return this.missing.size === 0;
  }

  /** The digest of what this set holds, as cert-registry computes it from its database (libs/pki trust-digest.ts). */
  digest(): { count: number; digest: string } {
    const d = new TrustDigest();
    for (const [id, r] of this.regs) d.add({ id, accountId: r.accountId, fingerprint: r.fingerprint, status: r.status, revocationRevision: r.revocationRevision });
    return { count: d.count, digest: d.value };
  }

  /** Add a registration, or replace what is known of it; false if the event is older than what the set holds. */
  upsert(e: UpsertInput, atMs: number): boolean {
    const prev = this.regs.get(e.id);
    if (prev && prev.updatedAtMs > atMs) return false;
    if (prev && prev.fingerprint !== e.fingerprint) this.remove(e.id, atMs);
    const kept = this.regs.get(e.id);
    // Revocation data has its own events: a registration replaced keeps what it had.
    this.regs.set(e.id, { accountId: e.accountId, fingerprint: e.fingerprint, status: e.status, updatedAtMs: atMs, revocationRevision: kept?.revocationRevision ?? 0, ...(kept?.revocation ? { revocation: kept.revocation } : {}) });
    let ids = this.byFingerprint.get(e.fingerprint);
    if (!ids) this.byFingerprint.set(e.fingerprint, (ids = new Set()));
    ids.add(e.id);
    if (e.kind === 'leaf' && !this.parsedByFingerprint.has(e.fingerprint)) {
      if (!this.unparsedLeaves.has(e.fingerprint)) {
        this.unparsedLeaves.set(e.fingerprint, { id: e.id, accountId: e.accountId, fingerprint: e.fingerprint, pem: e.pem });
        this.all?.pin(e.fingerprint);
      }
    } else if (!this.parsedByFingerprint.has(e.fingerprint)) {
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
    this.dropRevocation(id);
    this.regs.delete(id);
    const ids = this.byFingerprint.get(r.fingerprint)!;
    ids.delete(id);
    if (ids.size === 0) {
      this.byFingerprint.delete(r.fingerprint);
      this.parsedByFingerprint.delete(r.fingerprint);
      this.unparsedLeaves.delete(r.fingerprint);
      this.all?.delete(r.fingerprint);
    }
    this.restate(r.fingerprint);
  }

  /**
   * The revocation data of a CA registration at `revision` (undefined or empty: it has none left). A list
   * it needs that the set does not hold at that revision is pending until `putRevokedSerials` brings it.
   */
  setRevocation(id: string, revision: number, revocation: TrustRevocation | undefined): 'applied' | 'stale' | 'unknown' {
    const r = this.regs.get(id);
    if (!r) return 'unknown';
    if (r.revocationRevision >= revision) return 'stale';
    r.revocationRevision = revision;
    const has = revocation && (revocation.serials > 0 || revocation.crl);
    if (!has) {
      delete r.revocation;
      this.dropRevocation(id);
      return 'applied';
    }
    r.revocation = revocation;
    const held = this.lists.get(id);
    if (revocation.serials === 0) this.lists.delete(id);
    if (revocation.serials > 0 && (!held || held.revision < revision)) this.missing.set(id, revision);
    else this.missing.delete(id);
    const p = this.parsedByFingerprint.get(r.fingerprint);
    const ca = p && caIdentityOf(p);
    // A registration that does not parse is no anchor: nothing it revokes can be on a path.
    if (ca === undefined) {
      this.missing.delete(id);
      return 'applied';
    }
    this.caOf.set(id, ca);
    let slot = this.cas.get(ca);
    if (!slot) this.cas.set(ca, (slot = new CaRevocation()));
    slot.ids.add(id);
    this.restateCa(ca);
    return 'applied';
  }

  /** A list read from cert-registry (or the cache): taken when it is newer than the one held. */
  putRevokedSerials(l: RevokedSerials): void {
    const r = this.regs.get(l.certificateId);
    if (!r?.revocation || r.revocation.serials === 0) return;
    const held = this.lists.get(l.certificateId);
    if (held && held.revision >= l.revision) return;
    this.lists.set(l.certificateId, l);
    if (l.revision >= r.revocationRevision) this.missing.delete(l.certificateId);
    const ca = this.caOf.get(l.certificateId);
    if (ca !== undefined) this.restateCa(ca);
  }

  private dropRevocation(id: string): void {
    this.lists.delete(id);
    this.missing.delete(id);
    const ca = this.caOf.get(id);
    if (ca === undefined) return;
    this.caOf.delete(id);
    const slot = this.cas.get(ca)!;
    slot.ids.delete(id);
    if (slot.ids.size === 0) this.cas.delete(ca);
    else this.restateCa(ca);
  }

  /** One CA's lists and freshest CRL, from its copies (a handful: the cost does not grow with the set). */
  private restateCa(ca: string): void {
    const slot = this.cas.get(ca)!;
    slot.lists = [];
    slot.crl = undefined;
    for (const id of slot.ids) {
      const r = this.regs.get(id)!;
      const list = this.lists.get(id);
      if (list) slot.lists.push(list);
      const crl = r.revocation?.crl;
      if (!crl) continue;
      // Of several copies with CRLs, the freshest decides staleness (a CRL without nextUpdate never is).
      const nextUpdateMs = crl.nextUpdate === null ? Number.POSITIVE_INFINITY : Date.parse(crl.nextUpdate);
      if (!slot.crl || nextUpdateMs > slot.crl.nextUpdateMs) slot.crl = { fingerprint: r.fingerprint, nextUpdateMs, nextUpdate: crl.nextUpdate };
    }
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
    // A leaf that is not VALID is parsed now: its copies must be found by subject and key (standingOf).
    const p = this.parsedByFingerprint.get(fp) ?? (worst !== undefined && worst !== 'VALID' ? this.parseLeaf(fp) : undefined);
    if (worst === 'VALID' && p) this.validAnchors.add(p);
    else if (worst === 'VALID' && this.unparsedLeaves.has(fp)) this.validAnchors.pin(fp);
    else this.validAnchors.delete(fp);
  }
}

/** A snapshot of `entries` with the revoked serials of its CAs (`lists`, by registration id): tests and callers that need no updates. */
export function buildSnapshot(
  ancestry: readonly string[],
  entries: readonly TrustEntry[],
  parse: (e: TrustEntry) => ParsedCert | undefined,
  lists: ReadonlyMap<string, RevokedSerials> = new Map(),
): TrustSnapshot {
  const s = new TrustSet(ancestry, entries, parse as (e: ParseInput) => ParsedCert | undefined);
  for (const l of lists.values()) s.putRevokedSerials(l);
  return s;
}

const keyOf = (ancestry: readonly string[]) => ancestry.join('/');
/** Registrations indexed between two yields to the event loop while a fetched set is loaded (about 10–50 ms of work). */
const BUILD_SLICE = 100;

export interface TrustCacheBounds {
  /** Trust sets (one per ancestry that connected). */
  sets: number;
  /** Parsed registrations, shared by the sets; a set keeps its own alive while it is cached. */
  parsed: number;
  /** Revoked-serial lists (one per CA with revocation data), shared by the sets likewise. */
  revocationLists: number;
}

export class TrustCache {
  private readonly sets: LruMap<string, TrustSet>;
  /**
   * Parsed registrations by fingerprint: a fingerprint names immutable content, so this survives
   * invalidation and a rebuild after a change parses nothing again. Bounded: an evicted registration
   * still cached in a set stays alive there and is parsed again only by the next rebuild.
   */
  private readonly parsed: LruMap<string, ParsedCert | null>;
  /**
   * Revoked serials by CA registration id, the latest revision read: a set that is fetched again, or that
   * a revocation change leaves pending, takes the list from here when its revision is due, so a CRL of
   * 100,000 serials is read once per revision however many sets (sub-accounts) hold its CA.
   */
  private readonly lists: LruMap<string, RevokedSerials>;
  readonly generation = new Generation();

  constructor(
    bounds: TrustCacheBounds,
    private readonly onParseError: (e: ParseInput, err: unknown) => void = () => undefined,
  ) {
    this.sets = new LruMap(bounds.sets);
    this.parsed = new LruMap(bounds.parsed);
    this.lists = new LruMap(bounds.revocationLists);
  }

  /** The revoked serials of a CA at `revision` or later, when this replica has them. */
  revokedSerials(certificateId: string, revision = 0): RevokedSerials | undefined {
    const l = this.lists.get(certificateId);
    return l && l.revision >= revision ? l : undefined;
  }

  keepRevokedSerials(l: RevokedSerials): void {
    const have = this.lists.peek(l.certificateId);
    if (!have || have.revision <= l.revision) this.lists.set(l.certificateId, l);
  }

  /**
   * A registered certificate this replica holds parsed, by fingerprint (the same content in every set):
   * the revocation path asks it for the CA identity of a registration a change names.
   */
  certOf(fingerprint: string): ParsedCert | undefined {
    const p = this.parsed.peek(fingerprint);
    if (p !== undefined) return p ?? undefined;
    for (const [, s] of this.sets) {
      const c = s.certOf(fingerprint);
      if (c) return c;
    }
    return undefined;
  }

  /** A cached set; it may be pending on revoked-serial lists (`TrustSet.pending`). */
  get(ancestry: readonly string[]): TrustSet | undefined {
    return this.sets.get(keyOf(ancestry));
  }

  /** A set of `entries`, given the lists it needs that are cached or passed in; others stay pending. */
  build(ancestry: readonly string[], entries: readonly TrustEntry[], lists?: ReadonlyMap<string, RevokedSerials>): TrustSet {
    const s = new TrustSet(ancestry, entries, this.parseEntry);
    this.fillFromCache(s, lists);
    return s;
  }

  /** An empty set to `loadSlices` into, page by page as a fetch reads them. */
  empty(ancestry: readonly string[]): TrustSet {
    return new TrustSet(ancestry, [], this.parseEntry);
  }

  /**
   * Load `entries` into `s`, yielding to the event loop every BUILD_SLICE registrations: each new one is
   * parsed, and 100,000 pinned leaves are tens of seconds of CPU that must not stop the broker's other
   * work meanwhile (live sessions, health checks, change events, other connects).
   */
  async loadSlices(s: TrustSet, entries: readonly TrustEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i++) {
      s.load(entries[i]!);
      if ((i + 1) % BUILD_SLICE === 0) await new Promise<void>((r) => setImmediate(r));
    }
  }

  private readonly parseEntry = (e: ParseInput): ParsedCert | undefined => {
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
  };

  /** Give `s` the pending lists this replica holds at their revision (from `lists`, then the cache). */
  fillFromCache(s: TrustSet, lists?: ReadonlyMap<string, RevokedSerials>): void {
    for (const p of s.pending) {
      const given = lists?.get(p.certificateId);
      const l = given && given.revision >= p.revision ? given : this.revokedSerials(p.certificateId, p.revision);
      if (l) s.putRevokedSerials(l);
    }
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
    return this.applyEach(c.account, (s) => {
      if (c.type === 'cert.status_changed') return s.setStatus(c.certificateId, c.after, c.timeMs) === 'unknown' ? 'drop' : 'kept';
      if (c.type === 'cert.deleted') {
        s.remove(c.certificateId, c.timeMs);
        return 'kept';
      }
      if (!c.pem) return 'drop';
      s.upsert({ id: c.certificateId, accountId: c.account, fingerprint: c.fingerprint, status: c.status, pem: c.pem, ...(c.kind ? { kind: c.kind } : {}) }, c.timeMs);
      return 'kept';
    });
  }

  /**
   * Apply a CA's new revocation data to every cached set whose ancestry contains its account: its CRL
   * dates at once, its serials from this replica's cache when it has that revision. Returns the sets to
   * refill: those dropped (they do not hold the CA, or the change came without its data) and those left
   * pending on the CA's list (read once for all of them, before their next connect at the latest).
   */
  applyRevocationChange(c: RevocationChange): TrustSnapshot[] {
    const cached = this.revokedSerials(c.certificateId, c.revision);
    return this.applyEach(c.account, (s) => {
      if (!c.revocation || s.setRevocation(c.certificateId, c.revision, c.revocation) === 'unknown') return 'drop';
      if (cached) s.putRevokedSerials(cached);
      return s.complete ? 'kept' : 'refill';
    });
  }

  private applyEach(account: string, apply: (s: TrustSet) => 'kept' | 'refill' | 'drop'): TrustSnapshot[] {
    this.generation.bump();
    const refill: TrustSnapshot[] = [];
    for (const [k, s] of this.sets) {
      if (!s.ancestry.includes(account)) continue;
      const r = apply(s);
      if (r === 'drop') this.sets.delete(k);
      if (r !== 'kept') refill.push(s);
    }
    this.updates += 1;
    return refill;
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
  /** Every cached set (for checking them all after a NATS outage). */
  cached(): TrustSet[] {
    return [...this.sets.values()];
  }

  /** Drop `s` if it is still the cached set of its ancestry; fetches in flight may predate the reason. */
  drop(s: TrustSnapshot): void {
    this.generation.bump();
    const k = keyOf(s.ancestry);
    if (this.sets.peek(k) === s) this.sets.delete(k);
  }

  get size(): number {
    return this.sets.size;
  }
  get parsedSize(): number {
    return this.parsed.size;
  }
  get revocationListsSize(): number {
    return this.lists.size;
  }
  /** Serials held by the cached revocation lists (sets keep theirs alive beyond this too). */
  get revokedSerialsHeld(): number {
    let n = 0;
    for (const [, l] of this.lists.entries()) n += l.bySerial.size;
    return n;
  }
  get evictions(): { sets: number; parsed: number; revocationLists: number } {
    return { sets: this.sets.evictions, parsed: this.parsed.evictions, revocationLists: this.lists.evictions };
  }
}
