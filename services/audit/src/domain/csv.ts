// CSV export rows (RFC 4180) with spreadsheet formula injection defused (OWASP "CSV Injection"): a
// field beginning with = + - @ (or tab / carriage return) is prefixed with a single quote.
import type { AuditEvent } from '@twoway/contracts';

export const CSV_COLUMNS = [
  'id', 'time', 'type', 'account', 'outcome', 'reason', 'clientId', 'username', 'certificateFingerprint',
  'certificateSubject', 'certificateId', 'sourceAddress', 'traceId', 'source', 'actorKind', 'actorId', 'actorName', 'detail',
] as const;

export function csvField(v: string | undefined | null): string {
  if (v === undefined || v === null || v === '') return '';
  let s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(e: AuditEvent): string {
  const cols: Record<(typeof CSV_COLUMNS)[number], string | undefined | null> = {
    id: e.id,
    time: e.time,
    type: e.type,
    account: e.account,
    outcome: e.outcome,
    reason: e.reason,
    clientId: e.device?.clientId,
    username: e.device?.username,
    certificateFingerprint: e.device?.certificateFingerprint,
    certificateSubject: e.device?.certificateSubject,
    certificateId: e.certificateId,
    sourceAddress: e.sourceAddress,
    traceId: e.traceId,
    source: e.source,
    actorKind: e.actor.kind,
    actorId: e.actor.id,
    actorName: e.actor.name,
    detail: e.detail === undefined ? undefined : JSON.stringify(e.detail),
  };
  return `${CSV_COLUMNS.map((c) => csvField(cols[c])).join(',')}\r\n`;
}
