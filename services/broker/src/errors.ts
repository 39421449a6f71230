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
