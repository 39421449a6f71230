// What to answer JetStream for a message after a write attempt: `ack | retry | terminate` (STYLE.md).
// Acks are sent only after the transaction that stored the message has committed.

export type Delivery = 'ack' | 'retry' | 'terminate';

/** Attempts of one message against a reachable database before it is given up (terminated). */
export const MAX_ATTEMPTS_WHILE_DB_UP = 5;
const FIRST_RETRY_DELAY_MS = 1000;
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * A message whose write failed. While the database is unreachable every message is retried, for as
 * long as the outage lasts (nothing may be lost). When the database answers but this one message still
 * fails, it is terminated after a few attempts so that it cannot hold the stream back; it stays in the
 * stream, where downstream consumers and a replay still find it.
 */
export function afterWriteFailure(f: { dbReachable: boolean; deliveries: number }): Exclude<Delivery, 'ack'> {
  if (!f.dbReachable) return 'retry';
  return f.deliveries >= MAX_ATTEMPTS_WHILE_DB_UP ? 'terminate' : 'retry';
}

/** Exponential backoff of a nak: 1 s, 2 s, 4 s … capped at 30 s. `deliveries` starts at 1. */
export function retryDelayMs(deliveries: number): number {
  const n = Math.max(1, deliveries);
  return Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.min(n - 1, 15));
}
