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

/** A CRL or a revoked serial for a registration that is not a CA (a pinned leaf). */
export class CertNotCaError extends ApiError {
  override name = 'CertNotCaError';
  constructor(readonly accountId: string, readonly certificateId: string, detail?: string) {
    super('CERT_NOT_CA', detail);
  }
}

/** A CRL that cannot be the CA's: unreadable, unsupported, another issuer, another key (libs/pki verifyCrl says which). */
export class CrlRefusedError extends ApiError {
  override name = 'CrlRefusedError';
  constructor(code: 'CRL_INVALID' | 'CRL_UNSUPPORTED' | 'CRL_ISSUER_MISMATCH' | 'CRL_SIGNATURE_INVALID' | 'CERT_NOT_CA' | 'CERT_PRIVATE_KEY_REJECTED' | 'PAYLOAD_TOO_LARGE', readonly certificateId: string, detail: string, options?: { cause?: unknown }) {
    super(code, detail, options);
  }
}

/** The CRL is older than the stored one (lower cRLNumber or earlier thisUpdate). */
export class CrlOutdatedError extends ApiError {
  override name = 'CrlOutdatedError';
  constructor(readonly certificateId: string, detail: string) {
    super('CRL_OUTDATED', detail);
  }
}

/** Nothing to remove: no CRL stored for the CA, or no revoked-serial entry for `serial` under it. */
export class RevocationNotFoundError extends ApiError {
  override name = 'RevocationNotFoundError';
  constructor(readonly certificateId: string, readonly serial?: string) {
    super(serial === undefined ? 'CRL_NOT_FOUND' : 'REVOKED_SERIAL_NOT_FOUND', serial === undefined ? undefined : `serial ${serial} has no revoked-serial entry under this CA`);
  }
}

/** The distribution point did not deliver a CRL (unreachable, HTTP error, too large, too slow, a bad redirect). */
export class CrlFetchError extends ApiError {
  override name = 'CrlFetchError';
  constructor(readonly url: string, readonly problem: string, options?: { cause?: unknown }) {
    super('CRL_FETCH_FAILED', `fetching ${url}: ${problem}`, options);
  }
}

export class RevokedSerialLimitError extends ApiError {
  override name = 'RevokedSerialLimitError';
  constructor(readonly certificateId: string, readonly max: number) {
    super('REVOKED_SERIAL_LIMIT', `this CA already has ${max} revoked-serial entries (TWOWAY_REVOKED_SERIALS_MAX); upload its CRL instead`);
  }
}

/** A dry run's chain holds more certificates than a device would send (DRY_RUN_MAX_CERTIFICATES). */
export class DryRunChainTooLongError extends ApiError {
  override name = 'DryRunChainTooLongError';
  constructor(readonly count: number, readonly max: number) {
    super('BAD_REQUEST', `the chain holds ${count} certificates; a dry run takes at most ${max}: the device's own certificate first, then the intermediates it sends`);
  }
}
