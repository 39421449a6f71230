// The audit store's tables as TypeORM entity schemas (no decorators); the migrations create them.
import { EntitySchema } from 'typeorm';
import type { AuditRow } from '../domain/audit-row.js';

export const AuditEventEntity = new EntitySchema<AuditRow>({
  name: 'AuditEvent',
  tableName: 'audit_events',
  columns: {
    id: { type: 'varchar', length: 64, primary: true },
    seq: { type: 'bigint' },
    type: { type: 'text' },
    time: { type: 'varchar', length: 30 },
    accountId: { name: 'account_id', type: 'varchar', length: 64, nullable: true },
    accountPath: { name: 'account_path', type: 'text', nullable: true },
    outcome: { type: 'varchar', length: 16, nullable: true },
    reason: { type: 'text', nullable: true },
    clientId: { name: 'client_id', type: 'text', nullable: true },
    username: { type: 'text', nullable: true },
    certificateFingerprint: { name: 'certificate_fingerprint', type: 'text', nullable: true },
    certificateId: { name: 'certificate_id', type: 'text', nullable: true },
    sourceAddress: { name: 'source_address', type: 'text', nullable: true },
    traceId: { name: 'trace_id', type: 'text', nullable: true },
    source: { type: 'text' },
    payload: { type: 'text' },
  },
});

/** A message on the audit stream that is not an AuditEvent: kept, with why, instead of redelivered forever. */
export interface DeadLetterRow {
  streamSeq: number;
  subject: string;
  receivedAt: string;
  problems: string;
  data: string;
}

export const DeadLetterEntity = new EntitySchema<DeadLetterRow>({
  name: 'AuditDeadLetter',
  tableName: 'audit_dead_letters',
  columns: {
    streamSeq: { name: 'stream_seq', type: 'bigint', primary: true },
    subject: { type: 'text' },
    receivedAt: { name: 'received_at', type: 'varchar', length: 30 },
    problems: { type: 'text' },
    data: { type: 'text' },
  },
});
