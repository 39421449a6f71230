// Answers the broker's trust query: every registration of the given accounts (the device's account
// and its ancestors), any status — the broker needs SUSPENDED and REVOKED entries too, to refuse a
// chain that passes through one of them (docs/design.md §1, rule 2).
//
// In pages: a reply must fit in one NATS message (`max_payload`, 1 MB by default), and an ancestry may
// hold any number of registrations (100,000 pinned device leaves is a documented use). A page holds at
// most PAGE_ROWS registrations and about half of `max_payload`; `next` names where the following page
// starts (registrations in id order, so a page boundary never skips or repeats one).
import { RequestSubjects, TrustSetDigestRequest, TrustSetRequest, type TrustEntry, type TrustSetDigestReply, type TrustSetReply } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import type { CertificateStore } from '../db/certificate-store.js';

export const PAGE_ROWS = 1000;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Entries from the front of `rows` whose JSON stays within `budget` bytes (at least one). */
export function fitPage(rows: readonly TrustEntry[], budget: number): TrustEntry[] {
  let bytes = 64; // the reply's own braces, keys and cursor
  const out: TrustEntry[] = [];
  for (const r of rows) {
    // pem dominates; JSON escapes its newlines as two bytes each.
    const size = 200 + r.id.length + r.accountId.length + r.fingerprint.length + r.pem.length + (r.pem.match(/\n/g)?.length ?? 0) + (r.revocation ? 160 : 0);
    if (out.length > 0 && bytes + size > budget) break;
    out.push(r);
    bytes += size;
  }
  return out;
}

export function serveTrustSet(bus: Bus, store: CertificateStore): void {
  bus.serve(RequestSubjects.TrustSetGet, TrustSetRequest, async (req): Promise<TrustSetReply> => {
    const budget = Math.floor((bus.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) / 2);
    const rows = await store.trustSet(req.accountIds, { ...(req.after !== undefined ? { after: req.after } : {}), limit: PAGE_ROWS });
    const entries = fitPage(rows, budget);
    const more = entries.length < rows.length || rows.length === PAGE_ROWS;
    return { entries, ...(more ? { next: entries[entries.length - 1]!.id } : {}) };
  });
}

/** The digest of a trust set, for a broker checking the sets it kept through a NATS outage. */
export function serveTrustSetDigest(bus: Bus, store: CertificateStore): void {
  bus.serve(RequestSubjects.TrustSetDigest, TrustSetDigestRequest, (req): Promise<TrustSetDigestReply> => store.trustDigest(req.accountIds));
}
