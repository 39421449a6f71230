// Rules of a CA's revocation data (docs/design.md §1 "Revocation lists"): when a CRL may replace the
// stored one, what changes between two CRLs, which distribution-point URLs are fetched, and when the
// next fetch is due. Pure: time passed in.
import { parseCrl, parseSinglePem, PkiError, verifyCrl, type ParsedCrl } from '@twoway/pki';
import { CrlRefusedError } from '../errors.js';
export interface CrlVersion {
  fingerprint: string;
  thisUpdate: Date;
  number: bigint | undefined;
}

export type CrlReplacement = { action: 'store' } | { action: 'unchanged' } | { action: 'refuse'; detail: string };

/**
 * A CRL never replaces a newer one (a replayed old CRL would un-revoke what the newer one revoked):
 * refused when its thisUpdate is earlier, its cRLNumber lower (RFC 5280 §5.2.3: numbers increase), or it
 * reuses the stored number or thisUpdate with other content. The stored CRL again is no change.
 */
export function planCrlReplacement(stored: CrlVersion | undefined, next: CrlVersion): CrlReplacement {
  if (!stored) return { action: 'store' };
  if (stored.fingerprint === next.fingerprint) return { action: 'unchanged' };
  const t = (d: Date) => d.toISOString();
  if (next.thisUpdate.getTime() < stored.thisUpdate.getTime()) {
    return { action: 'refuse', detail: `its thisUpdate (${t(next.thisUpdate)}) is older than the stored CRL's (${t(stored.thisUpdate)})` };
  }
  if (stored.number !== undefined && next.number !== undefined) {
    if (next.number < stored.number) return { action: 'refuse', detail: `its cRLNumber ${next.number} is lower than the stored CRL's (${stored.number})` };
    if (next.number === stored.number) return { action: 'refuse', detail: `it has the stored CRL's cRLNumber (${stored.number}) with other content; a CA issues each number once (RFC 5280 §5.2.3)` };
  } else if (next.thisUpdate.getTime() === stored.thisUpdate.getTime()) {
    return { action: 'refuse', detail: `it has the stored CRL's thisUpdate (${t(stored.thisUpdate)}) with other content` };
  }
  return { action: 'store' };
}

/** The serials to insert and to delete to go from `existing` to `next`. */
export function diffSerials(existing: ReadonlySet<string>, next: readonly string[]): { added: string[]; removed: string[] } {
  const nextSet = new Set(next);
  return { added: next.filter((s) => !existing.has(s)), removed: [...existing].filter((s) => !nextSet.has(s)) };
}

/**
 * A distribution-point URL the registry will fetch: http or https only (a redirect to another scheme is
 * refused at fetch time too), and no user name or password in it (they would reach logs and audit events).
 * Returns the URL as it will be stored, or the problem.
 */
export function checkDistributionPointUrl(raw: string): { ok: true; url: string } | { ok: false; problem: string } {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return { ok: false, problem: `'${raw.slice(0, 100)}' is not a URL` };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { ok: false, problem: `only http and https distribution points are fetched, not ${u.protocol.replace(':', '')}` };
  if (u.username || u.password) return { ok: false, problem: 'the URL carries a user name or password; CRLs are public: use a URL without credentials' };
  return { ok: true, url: u.href };
}

/** The first retry after a failed fetch; it doubles with each further failure, up to the fetch interval. */
export const CRL_RETRY_FIRST_MS = 30_000;

/** When to try again after the `failures`-th failure in a row (1 for the first). */
export function nextFetchAfterFailure(failures: number, intervalMs: number, nowMs: number): Date {
  const delay = Math.min(intervalMs, CRL_RETRY_FIRST_MS * 2 ** Math.min(Math.max(failures - 1, 0), 20));
  return new Date(nowMs + delay);
}

/** After a successful fetch: the regular interval, or the CRL's nextUpdate when that comes first (a fresh one is due then). */
export function nextFetchAfterSuccess(intervalMs: number, nowMs: number, nextUpdate: Date | undefined | null): Date {
  const regular = nowMs + intervalMs;
  if (nextUpdate && nextUpdate.getTime() < regular) return new Date(Math.max(nextUpdate.getTime(), nowMs + Math.min(intervalMs, CRL_RETRY_FIRST_MS)));
  return new Date(regular);
}

/**
 * The CRL as sent or fetched, read and checked against the CA's registration (libs/pki `verifyCrl`):
 * the parsed CRL, or a CrlRefusedError with the code and message saying why it cannot be the CA's.
 */
export function checkCrl(input: string | Uint8Array, ca: { id: string; pem: string }, now: Date, maxBytes: number): ParsedCrl {
  let crl: ParsedCrl;
  try {
    crl = parseCrl(input, { maxBytes });
  } catch (e) {
    if (e instanceof PkiError) throw new CrlRefusedError(e.code as ConstructorParameters<typeof CrlRefusedError>[0], ca.id, e.message, { cause: e });
    throw e;
  }
  const verdict = verifyCrl(crl, parseSinglePem(ca.pem), now);
  if (!verdict.ok) throw new CrlRefusedError(verdict.code, ca.id, verdict.detail);
  return crl;
}
