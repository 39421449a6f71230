// A digest of a trust set's content, computed the same way by cert-registry (from its database) and by
// a broker (from the set it keeps up to date with change events). After a NATS outage a broker compares
// the two for every set it holds and fetches again only those that differ, instead of fetching every
// set whole: a change can have been committed while no event reached this broker, and a 100,000-entry
// set takes a minute to fetch and index again, while its digest takes a database scan without PEMs.
//
// Order-independent (XOR of one hash per registration), so neither side needs to sort: a broker's set is
// a map, and the database's id order depends on its collation. Registrations are unique by id, so no
// two equal terms cancel. Covers exactly what a decision reads: which registrations, their accounts,
// certificates (by fingerprint), statuses, and the revision of each CA's revocation data.
import { createHash } from 'node:crypto';

export interface TrustDigestRow {
  id: string;
  accountId: string;
  fingerprint: string;
  status: string;
  /** Revision of the registration's revocation data; 0 when it never had any. */
  revocationRevision: number;
}

export class TrustDigest {
  private readonly acc = Buffer.alloc(32);
  count = 0;

  add(r: TrustDigestRow): void {
    const h = createHash('sha256').update(`${r.id}\n${r.accountId}\n${r.fingerprint}\n${r.status}\n${r.revocationRevision}`).digest();
    for (let i = 0; i < 32; i++) this.acc[i]! ^= h[i]!;
    this.count += 1;
  }

  /** Hex digest; the count is part of the comparison (see `same`). */
  get value(): string {
    return this.acc.toString('hex');
  }
}

export function trustDigest(rows: Iterable<TrustDigestRow>): { count: number; digest: string } {
  const d = new TrustDigest();
  for (const r of rows) d.add(r);
  return { count: d.count, digest: d.value };
}
