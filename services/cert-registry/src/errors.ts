// The cert-registry's exceptions: each carries a contracts error code (mapped to an HTTP status by
// libs/http) and its facts as fields. Messages never hold PEM or key material.
import { ApiError } from '@twoway/http';

/** Unknown id, or an id of another account: the same answer, so tenants cannot probe ids. */
export class CertNotFoundError extends ApiError {
  override name = 'CertNotFoundError';
  constructor(readonly accountId: string, readonly certificateId: string) {
    super('CERT_NOT_FOUND');
  }
}

/** The certificate (same SHA-256) is already registered in this account. */
export class CertDuplicateError extends ApiError {
  override name = 'CertDuplicateError';
  constructor(readonly accountId: string, readonly duplicates: { entry?: number; fingerprint: string; existingId: string | null }[]) {
    super('CERT_DUPLICATE', duplicateMessage(duplicates));
  }
}

function duplicateMessage(d: CertDuplicateError['duplicates']): string {
  const one = (x: (typeof d)[number]) =>
    `${x.entry !== undefined ? `entry ${x.entry}: ` : ''}certificate sha256 ${x.fingerprint} is already registered in this account${x.existingId ? ` as ${x.existingId}` : ' (repeated in this upload)'}`;
  return d.length === 1 && d[0]!.entry === undefined ? `${one(d[0]!)}.` : `nothing was stored: ${d.map(one).join('; ')}.`;
}

/** Parsed fine but cannot serve as a trust anchor (weak key, expired). */
export class CertInvalidError extends ApiError {
  override name = 'CertInvalidError';
  constructor(readonly fingerprint: string, readonly problem: string) {
    super('CERT_INVALID', problem);
  }
}

/** A PEM with several certificates sent to the one-entry endpoint. */
export class CertMultipleError extends ApiError {
  override name = 'CertMultipleError';
  constructor(readonly accountId: string, readonly count: number) {
    super(
      'CERT_MULTIPLE',
      `the PEM holds ${count} certificates; one entry takes exactly one certificate. ` +
        `To register each certificate of a chain file as its own entry, send the same body to ` +
        `POST /api/v1/accounts/${accountId}/certificates?split=true (all entries are stored, or none).`,
    );
  }
}

/** A dry run's chain holds more certificates than a device would send (DRY_RUN_MAX_CERTIFICATES). */
export class DryRunChainTooLongError extends ApiError {
  override name = 'DryRunChainTooLongError';
  constructor(readonly count: number, readonly max: number) {
    super('BAD_REQUEST', `the chain holds ${count} certificates; a dry run takes at most ${max}: the device's own certificate first, then the intermediates it sends`);
  }
}
