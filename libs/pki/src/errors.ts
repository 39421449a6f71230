import { ErrorCodes, type ErrorCode } from '@twoway/contracts';

/** A certificate input that cannot be used; `code` is an API error code (CERT_PEM_INVALID, ...). */
export class PkiError extends Error {
  override name = 'PkiError';
  constructor(readonly code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].message, options);
  }
}
