// The trust set of an ancestry (every registration of the account and its ancestors, any status),
// parsed once and kept warm. A certificate event for account A drops every set whose ancestry
// contains A, which covers A's descendants (anchors of an account apply to its sub-accounts).
import { AnchorSet, parseSinglePem, type ParsedCert } from '@twoway/pki';
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
}

export function buildSnapshot(ancestry: readonly string[], entries: readonly TrustEntry[], parse: (e: TrustEntry) => ParsedCert | undefined): TrustSnapshot {
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
  };
}

const keyOf = (ancestry: readonly string[]) => ancestry.join('/');

export interface TrustCacheBounds {
  /** Trust sets (one per ancestry that connected). */
  sets: number;
  /** Parsed registrations, shared by the sets; a set keeps its own alive while it is cached. */
  parsed: number;
}

export class TrustCache {
  private readonly sets: LruMap<string, TrustSnapshot>;
  /**
   * Parsed registrations by fingerprint: a fingerprint names immutable content, so this survives
   * invalidation and a rebuild after a change parses nothing again. Bounded: an evicted registration
   * still cached in a set stays alive there and is parsed again only by the next rebuild.
   */
  private readonly parsed: LruMap<string, ParsedCert | null>;
  readonly generation = new Generation();

  constructor(
    bounds: TrustCacheBounds,
    private readonly onParseError: (e: TrustEntry, err: unknown) => void = () => undefined,
  ) {
    this.sets = new LruMap(bounds.sets);
    this.parsed = new LruMap(bounds.parsed);
  }

  get(ancestry: readonly string[]): TrustSnapshot | undefined {
    return this.sets.get(keyOf(ancestry));
  }

  build(ancestry: readonly string[], entries: readonly TrustEntry[]): TrustSnapshot {
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
    });
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
  get evictions(): { sets: number; parsed: number } {
    return { sets: this.sets.evictions, parsed: this.parsed.evictions };
  }
}
