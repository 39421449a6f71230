// The broker's error classes. Expected connect outcomes are values (see connect/decide.ts), not these.

/** The server certificate or key could not be loaded (start fails; a reload keeps the previous one). */
export class TlsMaterialError extends Error {
  override name = 'TlsMaterialError';
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A subscription the broker depends on (the CHANGES stream) ended unexpectedly: the broker stops. */
export class ChangeFeedEndedError extends Error {
  override name = 'ChangeFeedEndedError';
  constructor(options?: { cause?: unknown }) {
    super('the change feed ended unexpectedly', options);
  }
}

/** A trust set needed more pages than the broker fetches for one ancestry: the connect is undecidable (fail closed). */
export class TrustSetTooLargeError extends Error {
  override name = 'TrustSetTooLargeError';
  constructor(readonly ancestry: readonly string[], readonly fetched: number) {
    super(`trust set of ${ancestry[0]} still incomplete after ${fetched} registrations`);
  }
}

/**
 * A CA's revoked serials could not be read as one revision: more pages than the broker fetches, or the list
 * kept changing while it was read. The connect is undecidable (fail closed); the next one reads it again.
 */
export class RevocationListUnreadableError extends Error {
  override name = 'RevocationListUnreadableError';
  constructor(readonly certificateId: string, problem: string) {
    super(`the revoked serials of CA registration ${certificateId}: ${problem}`);
  }
}
