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

/**
 * Revocation data of one registered CA: its stored CRL (metadata; the serials are rows of revoked_serials),
 * its CRL distribution point and the fetch schedule, and a revision that grows with every change (brokers
 * keep the serials they fetched per revision). One row per CA that has any; deleted with the certificate.
 */
export interface RevocationStateRow {
  certificateId: string;
  accountId: string;
  revision: number;
  crlFingerprint: string | null;
  crlIssuer: string | null;
  crlThisUpdate: Date | null;
  crlNextUpdate: Date | null;
  /** cRLNumber in decimal (up to 20 octets: beyond a JavaScript number). */
  crlNumber: string | null;
  crlEntries: number;
  crlSource: 'upload' | 'fetch' | null;
  crlUpdatedAt: Date | null;
  manualCount: number;
  dpUrl: string | null;
  /** Ancestry of the account (JSON array, self first) as authorised when the URL was set: the fetcher's audit events carry it. */
  dpAccountPath: string | null;
  dpLastAttemptAt: Date | null;
  dpLastSuccessAt: Date | null;
  dpLastError: string | null;
  dpFailures: number;
  dpNextFetchAt: Date | null;
}

export const RevocationStateEntity = new EntitySchema<RevocationStateRow>({
  name: 'RevocationState',
  tableName: 'revocation_states',
  columns: {
    certificateId: { type: 'uuid', primary: true, name: 'certificate_id' },
    accountId: { type: String, length: 64, name: 'account_id' },
    revision: { type: Number },
    crlFingerprint: { type: String, length: 64, name: 'crl_fingerprint', nullable: true },
    crlIssuer: { type: 'text', name: 'crl_issuer', nullable: true },
    crlThisUpdate: { type: Date, name: 'crl_this_update', nullable: true },
    crlNextUpdate: { type: Date, name: 'crl_next_update', nullable: true },
    crlNumber: { type: String, length: 64, name: 'crl_number', nullable: true },
    crlEntries: { type: Number, name: 'crl_entries' },
    crlSource: { type: String, length: 16, name: 'crl_source', nullable: true },
    crlUpdatedAt: { type: Date, name: 'crl_updated_at', nullable: true },
    manualCount: { type: Number, name: 'manual_count' },
    dpUrl: { type: 'text', name: 'dp_url', nullable: true },
    dpAccountPath: { type: 'text', name: 'dp_account_path', nullable: true },
    dpLastAttemptAt: { type: Date, name: 'dp_last_attempt_at', nullable: true },
    dpLastSuccessAt: { type: Date, name: 'dp_last_success_at', nullable: true },
    dpLastError: { type: 'text', name: 'dp_last_error', nullable: true },
    dpFailures: { type: Number, name: 'dp_failures' },
    dpNextFetchAt: { type: Date, name: 'dp_next_fetch_at', nullable: true },
  },
  indices: [{ name: 'revocation_states_next_fetch', columns: ['dpNextFetchAt'] }],
});

export type RevokedSerialSource = 'crl' | 'manual';

/** A serial revoked under a CA: listed on its CRL (`crl`) or revoked by serial (`manual`). */
export interface RevokedSerialRow {
  certificateId: string;
  /** Normalised (libs/pki normalizeSerial): lowercase hex, no leading zeros. */
  serial: string;
  source: RevokedSerialSource;
  accountId: string;
  /** RFC 5280 reason name of a `manual` entry. */
  reason: string | null;
  /** When a `manual` entry was made (null for `crl` rows: the CRL is their record). */
  revokedAt: Date | null;
  /** Name (or token id) of who revoked a `manual` entry. */
  revokedBy: string | null;
}

export const RevokedSerialEntity = new EntitySchema<RevokedSerialRow>({
  name: 'RevokedSerial',
  tableName: 'revoked_serials',
  columns: {
    certificateId: { type: 'uuid', primary: true, name: 'certificate_id' },
    serial: { type: String, length: 80, primary: true },
    source: { type: String, length: 8, primary: true },
    accountId: { type: String, length: 64, name: 'account_id' },
    reason: { type: String, length: 32, nullable: true },
    revokedAt: { type: Date, name: 'revoked_at', nullable: true },
    revokedBy: { type: String, length: 256, name: 'revoked_by', nullable: true },
  },
  indices: [{ name: 'revoked_serials_source', columns: ['certificateId', 'source', 'serial'] }],
});
