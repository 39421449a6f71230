// The registry's tables as TypeORM EntitySchemas (no decorators). Schema changes go through
// migrations/ only; these mirror them.
import { EntitySchema } from 'typeorm';
import type { CertKind, CertStatus } from '@twoway/contracts';

export interface CertificateRow {
  id: string;
  accountId: string;
  name: string;
  usage: 'MUTUAL_AUTHENTICATION';
  status: CertStatus;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  kind: CertKind;
  keyType: string;
  /** libs/pki's re-encoding of the DER (never the uploaded text, which might carry other blocks). */
  pem: string;
  createdAt: Date;
  updatedAt: Date;
  /** Token id of the principal that registered it. */
  createdBy: string;
  /** The expiry audit event last written for it (`cert.expiring`, then `cert.expired`); null before any. */
  expiryNotice?: ExpiryNotice | null;
}

/** How far the expiry scan has audited a registration (domain/expiry.ts). */
export type ExpiryNotice = 'expiring' | 'expired';

export const CertificateEntity = new EntitySchema<CertificateRow>({
  name: 'Certificate',
  tableName: 'certificates',
  columns: {
    id: { type: 'uuid', primary: true },
    accountId: { type: String, length: 64, name: 'account_id' },
    name: { type: String, length: 256 },
    usage: { type: String, length: 32 },
    status: { type: String, length: 16 },
    fingerprint: { type: String, length: 64 },
    subject: { type: 'text' },
    issuer: { type: 'text' },
    serial: { type: String, length: 128 },
    notBefore: { type: Date, name: 'not_before' },
    notAfter: { type: Date, name: 'not_after' },
    kind: { type: String, length: 16 },
    keyType: { type: String, length: 32, name: 'key_type' },
    pem: { type: 'text' },
    createdAt: { type: Date, name: 'created_at' },
    updatedAt: { type: Date, name: 'updated_at' },
    createdBy: { type: String, length: 64, name: 'created_by' },
    expiryNotice: { type: String, length: 16, name: 'expiry_notice', nullable: true },
  },
  uniques: [{ name: 'certificates_account_fingerprint', columns: ['accountId', 'fingerprint'] }],
  indices: [
    { name: 'certificates_account_created', columns: ['accountId', 'createdAt', 'id'] },
    { name: 'certificates_not_after', columns: ['notAfter'] },
  ],
});

export interface StatusHistoryRow {
  /** Insertion order: several changes may share a millisecond. */
  seq?: number;
  certificateId: string;
  accountId: string;
  fingerprint: string;
  /** null when the certificate was added. */
  before: CertStatus | null;
  /** null when the certificate was deleted. */
  after: CertStatus | null;
  actorKind: string;
  actorId: string;
  actorName: string | null;
  at: Date;
}

/** Append-only: rows are inserted, never updated or deleted (they outlive the certificate). */
export const StatusHistoryEntity = new EntitySchema<StatusHistoryRow>({
  name: 'CertificateStatusHistory',
  tableName: 'certificate_status_history',
  columns: {
    seq: { type: Number, primary: true, generated: 'increment' },
    certificateId: { type: 'uuid', name: 'certificate_id' },
    accountId: { type: String, length: 64, name: 'account_id' },
    fingerprint: { type: String, length: 64 },
    before: { type: String, length: 16, name: 'before_status', nullable: true },
    after: { type: String, length: 16, name: 'after_status', nullable: true },
    actorKind: { type: String, length: 16, name: 'actor_kind' },
    actorId: { type: String, length: 64, name: 'actor_id' },
    actorName: { type: String, length: 256, name: 'actor_name', nullable: true },
    at: { type: Date },
  },
  indices: [{ name: 'certificate_status_history_cert', columns: ['certificateId', 'seq'] }],
});
