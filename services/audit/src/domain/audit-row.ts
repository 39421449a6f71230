// From a decoded audit event to the row the store keeps: normalised time (sortable text), the indexed
// facts pulled out of the event, and the event itself as JSON for the query API to return unchanged.
import type { AuditEvent } from '@twoway/contracts';

export interface AuditRow {
  id: string;
  /** Stream sequence of the message the event arrived in (diagnostics; order comes from time, id). */
  seq: number;
  type: string;
  /** UTC, `YYYY-MM-DDTHH:mm:ss.sssZ`: sorts as text on SQLite and PostgreSQL alike. */
  time: string;
  accountId: string | null;
  /** `/root/…/parent/account/` when the event carries its ancestry, else null. */
  accountPath: string | null;
  outcome: string | null;
  reason: string | null;
  clientId: string | null;
  username: string | null;
  certificateFingerprint: string | null;
  certificateId: string | null;
  sourceAddress: string | null;
  traceId: string | null;
  source: string;
  payload: string;
}

export type RowResult = { ok: true; row: AuditRow } | { ok: false; problems: string[] };

/**
 * PostgreSQL refuses btree index entries above ~2.7 kB; client ids and usernames come from devices,
 * so indexed columns keep a bounded prefix (the whole value stays in `payload`).
 */
export const INDEXED_MAX_CHARS = 512;
const cap = (s: string | undefined | null): string | null => (s === undefined || s === null ? null : s.length > INDEXED_MAX_CHARS ? s.slice(0, INDEXED_MAX_CHARS) : s);

/** `2026-11-23T11:00:00+01:00` → `2026-11-23T10:00:00.000Z`; undefined when not a time we can order. */
export function normalizeTime(t: string): string | undefined {
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  // Years outside 0000-9999 render as ±YYYYYY and would not sort as text.
  return iso.length === 24 ? iso : undefined;
}

/** Root-first, slash-delimited path of an ancestry given self first (as account-settings answers it). */
export function accountPathOf(ancestrySelfFirst: readonly string[]): string {
  return `/${[...ancestrySelfFirst].reverse().join('/')}/`;
}

/** Lowercase hex without separators, so `AB:CD…` and `abcd…` find the same certificate. */
export function normalizeFingerprint(s: string): string {
  const compact = s.replace(/[:\s]/g, '');
  return /^[0-9a-fA-F]+$/.test(compact) ? compact.toLowerCase() : s;
}

export function toRow(event: AuditEvent, seq: number): RowResult {
  const time = normalizeTime(event.time);
  if (!time) return { ok: false, problems: [`/time ${JSON.stringify(event.time)} is not an orderable date-time`] };
  const path = event.accountPath;
  let accountPath: string | null = null;
  if (path && path.length > 0) {
    // The path must describe the event's own account, else a subtree query could be fooled into it.
    if (event.account === null || path[0] !== event.account) return { ok: false, problems: ['/accountPath must start with the event account'] };
    accountPath = accountPathOf(path);
  }
  return {
    ok: true,
    row: {
      id: event.id,
      seq,
      type: cap(event.type)!,
      time,
      accountId: event.account,
      accountPath,
      outcome: event.outcome ?? null,
      reason: cap(event.reason),
      clientId: cap(event.device?.clientId),
      username: cap(event.device?.username),
      certificateFingerprint: event.device?.certificateFingerprint ? cap(normalizeFingerprint(event.device.certificateFingerprint)) : null,
      certificateId: cap(event.certificateId),
      sourceAddress: cap(event.sourceAddress),
      traceId: cap(event.traceId),
      source: cap(event.source)!,
      payload: JSON.stringify(event),
    },
  };
}
