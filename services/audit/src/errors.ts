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
