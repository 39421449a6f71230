// Errors of the audit service. Expected outcomes (a malformed message, a redelivery) are values, not these.
import type { ErrorCode } from '@twoway/contracts';

/** The store could not be written or read; the consumer naks and retries, readiness goes false. */
export class AuditStoreError extends Error {
  override name = 'AuditStoreError';
  readonly code: ErrorCode = 'UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A query cursor that we did not issue (or that was edited). */
export class CursorInvalidError extends Error {
  override name = 'CursorInvalidError';
  readonly code: ErrorCode = 'VALIDATION_FAILED';
  constructor(readonly cursor: string) {
    super('invalid cursor: pass back the nextCursor of a previous page unchanged');
  }
}

/** A query parameter the schema let through but that cannot be used (a time that cannot be ordered). */
export class QueryInvalidError extends Error {
  override name = 'QueryInvalidError';
  readonly code: ErrorCode = 'VALIDATION_FAILED';
  constructor(readonly parameter: string) {
    super(`invalid query parameter ${parameter}: expected an RFC 3339 date-time between years 0000 and 9999`);
  }
}
