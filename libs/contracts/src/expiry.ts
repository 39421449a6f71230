// Where a certificate stands against its notAfter and the expiry warning window: one rule for
// cert-registry (the `expiry` of each certificate, its scan and its list filter), the broker (device
// certificates at connect) and the console. Plain values, so the console bundles them without schemas.

export const DAY_MS = 86_400_000;

/** `ok`: more than the window left; `expiring`: within the window; `expired`: past its notAfter. */
export const ExpiryStates = { Ok: 'ok', Expiring: 'expiring', Expired: 'expired' } as const;
export type ExpiryState = (typeof ExpiryStates)[keyof typeof ExpiryStates];

/** The warning window unless TWOWAY_EXPIRY_WARNING_DAYS says otherwise (libs/config). */
export const DEFAULT_EXPIRY_WARNING_DAYS = 30;

/** Most days an expiry window or an `expiresWithinDays` filter may span (ten years). */
export const MAX_EXPIRY_WINDOW_DAYS = 3650;

/**
 * The state of a certificate whose validity ends at `notAfterMs`, seen at `nowMs`. The validity
 * period includes notAfter itself (RFC 5280 §4.1.2.5), so a certificate is expired only after it; it
 * is expiring once no more than `windowDays` remain.
 */
export function expiryOf(notAfterMs: number, nowMs: number, windowDays: number): ExpiryState {
  if (nowMs > notAfterMs) return ExpiryStates.Expired;
  return notAfterMs - nowMs <= windowDays * DAY_MS ? ExpiryStates.Expiring : ExpiryStates.Ok;
}

/** Whole days left before notAfter (0 on its last day, negative once expired), for messages. */
export const daysLeft = (notAfterMs: number, nowMs: number): number => Math.floor((notAfterMs - nowMs) / DAY_MS);
