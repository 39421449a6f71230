// A query's filter, built from the request once and passed to the store: pure, so the rules
// (type patterns, certificate matching, subtree, time bounds) are tested without a database.
import type { AuditQuery } from '@twoway/contracts';
import { accountPathOf, normalizeFingerprint, normalizeTime } from './audit-row.js';
import { decodeCursor, type CursorKey } from './cursor.js';
import { CursorInvalidError, QueryInvalidError } from '../errors.js';

export const DEFAULT_PAGE_LIMIT = 100;

export interface AuditFilter {
  accountId: string;
  /** Set for subtree queries: also match rows whose account path starts with it. */
  subtreePathPrefix?: string;
  /**
   * Also rows with no account (a connect that could not be attributed: unknown username, no
   * credentials, UNDECIDABLE). Only for a subtree query of the root account, i.e. the provider's
   * view of the whole installation: nobody else may see attempts that named no account of theirs.
   */
  includeUnattributed?: boolean;
  types?: { exact: string[]; prefixes: string[] };
  outcome?: string;
  reason?: string;
  clientId?: string;
  username?: string;
  /** Certificate id or fingerprint (normalised). */
  certificate?: { id: string; fingerprint: string };
  /** Inclusive lower bound, normalised ISO. */
  from?: string;
  /** Exclusive upper bound, normalised ISO. */
  to?: string;
  /** Rows strictly older than this key (the previous page's last row). */
  before?: CursorKey;
  /** Rows strictly newer than this key (live-tail catch-up after Last-Event-ID). */
  after?: CursorKey;
}

function timeParam(name: string, v: string): string {
  const t = normalizeTime(v);
  if (!t) throw new QueryInvalidError(name);
  return t;
}

/** `connect.rejected,cert.*` → exact `connect.rejected`, prefix `cert.`. */
export function parseTypes(s: string): { exact: string[]; prefixes: string[] } {
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const t of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (t.endsWith('.*')) prefixes.push(t.slice(0, -1));
    else exact.push(t);
  }
  return { exact, prefixes };
}

export function buildFilter(accountId: string, ancestrySelfFirst: readonly string[], q: AuditQuery): AuditFilter {
  const f: AuditFilter = { accountId };
  if (q.subtree) f.subtreePathPrefix = accountPathOf(ancestrySelfFirst);
  if (q.subtree && ancestrySelfFirst.length === 1 && ancestrySelfFirst[0] === accountId) f.includeUnattributed = true;
  if (q.type) f.types = parseTypes(q.type);
  if (q.outcome) f.outcome = q.outcome;
  if (q.reason) f.reason = q.reason;
  if (q.clientId) f.clientId = q.clientId;
  if (q.username) f.username = q.username;
  if (q.certificate) f.certificate = { id: q.certificate, fingerprint: normalizeFingerprint(q.certificate) };
  if (q.from) f.from = timeParam('from', q.from);
  if (q.to) f.to = timeParam('to', q.to);
  if (q.cursor) {
    f.before = decodeCursor(q.cursor);
    if (!normalizeTime(f.before.time)) throw new CursorInvalidError(q.cursor);
  }
  return f;
}

/** Whether a just-stored event belongs to a live tail opened with this account and subtree flag. */
export function tailMatches(e: { account: string | null; accountPath?: string[] }, accountId: string, subtree: boolean, includeUnattributed = false): boolean {
  if (e.account === accountId) return true;
  if (e.account === null) return includeUnattributed;
  return subtree && !!e.accountPath && e.accountPath[0] === e.account && e.accountPath.includes(accountId);
}
