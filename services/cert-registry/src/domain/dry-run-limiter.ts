// How many dry runs one token may ask for: a fixed window per token, so an operator gets an answer on
// every click while a script (or a stolen token) cannot turn dry runs into a password-guessing or
// validation-burning loop (each may cost a password hash and a chain validation). Bounded in tokens:
// the least recently seen leaves first. Pure: time is passed in.
import { LruMap } from '@twoway/lru';

/** Tokens whose window is remembered; one that leaves starts a fresh window (a bound on memory, not a loophole worth more than a window). */
export const DRY_RUN_LIMITER_MAX_TOKENS = 10_000;
export const DRY_RUN_WINDOW_MS = 60_000;

export class DryRunLimiter {
  private readonly windows: LruMap<string, { startMs: number; count: number }>;
  constructor(
    private readonly perWindow: number,
    private readonly windowMs = DRY_RUN_WINDOW_MS,
    maxTokens = DRY_RUN_LIMITER_MAX_TOKENS,
  ) {
    this.windows = new LruMap(maxTokens);
  }

  /** A dry run for `tokenId` now: allowed, or refused with how long until the window ends. */
  take(tokenId: string, nowMs: number): { ok: true } | { ok: false; retryAfterMs: number } {
    let w = this.windows.get(tokenId);
    if (!w || nowMs - w.startMs >= this.windowMs) {
      w = { startMs: nowMs, count: 0 };
      this.windows.set(tokenId, w);
    }
    if (w.count >= this.perWindow) return { ok: false, retryAfterMs: w.startMs + this.windowMs - nowMs };
    w.count += 1;
    return { ok: true };
  }
}
