// The trust set of an ancestry (every registration of the account and its ancestors, any status, and
// the revocation data of its CAs), parsed once and kept warm. A certificate event for account A drops
// every set whose ancestry contains A, which covers A's descendants (anchors of an account apply to its
// sub-accounts).
import { AnchorSet, caIdentityOf, parseSinglePem, type ParsedCert } from '@twoway/pki';
import type { CertStatus, TrustEntry } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import { Generation } from './generation.js';

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

interface CaRevocation extends IssuerRevocation {
  lists: RevokedSerials[];
  crl?: { fingerprint: string; nextUpdateMs: number; nextUpdate: string | null };
}

function buildRevocationIndex(entries: readonly TrustEntry[], parse: (e: TrustEntry) => ParsedCert | undefined, lists: ReadonlyMap<string, RevokedSerials>): RevocationIndex | undefined {
  const byCa = new Map<string, CaRevocation>();
  for (const e of entries) {
    if (!e.revocation) continue;
    const p = parse(e);
    const id = p && caIdentityOf(p);
    if (!id) continue;
    let ca = byCa.get(id);
    if (!ca) {
      const slot: CaRevocation = {
        lists: [],
        revoked(serial) {
          let how: 'crl' | 'manual' | undefined;
          for (const l of slot.lists) {
            const h = l.bySerial.get(serial);
            if (h === 'manual') return h;
            how ??= h;
          }
          return how;
        },
        staleCrl(atMs) {
          return slot.crl && slot.crl.nextUpdateMs < atMs ? { fingerprint: slot.crl.fingerprint, nextUpdate: slot.crl.nextUpdate! } : undefined;
        },
      };
      byCa.set(id, (ca = slot));
    }
    const list = lists.get(e.id);
    if (list) ca.lists.push(list);
    const crl = e.revocation.crl;
    if (crl) {
      // Of several copies with CRLs, the freshest decides staleness (a CRL without nextUpdate never is).
      const nextUpdateMs = crl.nextUpdate === null ? Number.POSITIVE_INFINITY : Date.parse(crl.nextUpdate);
      if (!ca.crl || nextUpdateMs > ca.crl.nextUpdateMs) ca.crl = { fingerprint: e.fingerprint, nextUpdateMs, nextUpdate: crl.nextUpdate };
    }
  }
  if (byCa.size === 0) return undefined;
  return {
    forIssuer(issuer) {
      const id = caIdentityOf(issuer);
      return id === undefined ? undefined : byCa.get(id);
    },
  };
}

/** `lists`: the revoked serials of the set's CAs that have any, by registration id. */
export function buildSnapshot(
  ancestry: readonly string[],
  entries: readonly TrustEntry[],
  parse: (e: TrustEntry) => ParsedCert | undefined,
  lists: ReadonlyMap<string, RevokedSerials> = new Map(),
): TrustSnapshot {
  const worst = new Map<string, CertStatus>();
  const valid = new Map<string, ParsedCert>();
  const all = new Map<string, ParsedCert>();
  for (const e of entries) {
    const prev = worst.get(e.fingerprint);
    if (!prev || SEVERITY[e.status] > SEVERITY[prev]) worst.set(e.fingerprint, e.status);
    const p = parse(e);
    if (!p) continue;
    all.set(p.fingerprint, p);
  }
  for (const [fp, p] of all) if (worst.get(fp) === 'VALID') valid.set(fp, p);
  let allSet: AnchorSet | undefined;
  return {
    ancestry,
    validAnchors: new AnchorSet(valid.values()),
    get allAnchors() {
      return (allSet ??= new AnchorSet(all.values()));
    },
    statusOf: (fp) => worst.get(fp),
    hasNonValid: [...worst.values()].some((s) => s !== 'VALID'),
    size: entries.length,
    revocation: buildRevocationIndex(entries, parse, lists),
  };
}

const keyOf = (ancestry: readonly string[]) => ancestry.join('/');

export interface TrustCacheBounds {
  /** Trust sets (one per ancestry that connected). */
  sets: number;
  /** Parsed registrations, shared by the sets; a set keeps its own alive while it is cached. */
  parsed: number;
  /** Revoked-serial lists (one per CA with revocation data), shared by the sets likewise. */
  revocationLists: number;
}

export class TrustCache {
  private readonly sets: LruMap<string, TrustSnapshot>;
  /**
   * Parsed registrations by fingerprint: a fingerprint names immutable content, so this survives
   * invalidation and a rebuild after a change parses nothing again. Bounded: an evicted registration
   * still cached in a set stays alive there and is parsed again only by the next rebuild.
   */
  private readonly parsed: LruMap<string, ParsedCert | null>;
  /**
   * Revoked serials by CA registration id, the latest revision fetched: a change event drops the sets, not
   * these, so a rebuild fetches only the lists whose revision moved (a CRL of 100,000 serials is not read
   * again because another CA changed).
   */
  private readonly lists: LruMap<string, RevokedSerials>;
  readonly generation = new Generation();

  constructor(
    bounds: TrustCacheBounds,
    private readonly onParseError: (e: TrustEntry, err: unknown) => void = () => undefined,
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

  get(ancestry: readonly string[]): TrustSnapshot | undefined {
    return this.sets.get(keyOf(ancestry));
  }

  build(ancestry: readonly string[], entries: readonly TrustEntry[], lists?: ReadonlyMap<string, RevokedSerials>): TrustSnapshot {
    return buildSnapshot(ancestry, entries, (e) => {
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
    }, lists);
  }

  put(s: TrustSnapshot, gen: number): void {
    if (gen === this.generation.current) this.sets.set(keyOf(s.ancestry), s);
  }

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
