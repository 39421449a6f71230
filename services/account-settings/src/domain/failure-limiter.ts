// Lockout after repeated failed credential checks, per username and per source address.
// In memory, per replica: with R replicas an attacker gets at most R × maxFailures guesses per window
// per key, which still turns an online guessing attack from thousands of tries a second into a few a
// minute. Pure: time is passed in.

export interface FailureLimits {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
}

interface Entry {
  /** Times (ms) of the failures inside the current window, oldest first. */
  failures: number[];
  lockedUntil: number;
}

/** Bounds memory under a flood of distinct usernames/addresses: the oldest keys are dropped first. */
const MAX_KEYS = 100_000;

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly limits: FailureLimits) {}

  /** True while `key` is locked out. */
  isLocked(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.lockedUntil > now;
  }

  /** Record a failure; returns true when this failure locked the key. */
  fail(key: string, now: number): boolean {
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= MAX_KEYS) this.evict(now);
      e = { failures: [], lockedUntil: 0 };
      this.entries.set(key, e);
    }
    const from = now - this.limits.windowMs;
    e.failures = e.failures.filter((t) => t > from);
    e.failures.push(now);
    if (e.failures.length >= this.limits.maxFailures) {
      e.lockedUntil = now + this.limits.lockoutMs;
      e.failures = [];
      return true;
    }
    return false;
  }

  /** A success clears the key's failures (a device that got its password right is not penalised). */
  succeed(key: string): void {
    const e = this.entries.get(key);
    if (e && e.lockedUntil === 0) this.entries.delete(key);
    else if (e) e.failures = [];
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [k, e] of this.entries) {
      const last = e.failures[e.failures.length - 1] ?? 0;
      if (e.lockedUntil <= now && last <= now - this.limits.windowMs) this.entries.delete(k);
    }
    // Still full: drop the oldest insertions (Map keeps insertion order).
    for (const k of this.entries.keys()) {
      if (this.entries.size < MAX_KEYS) break;
      this.entries.delete(k);
    }
  }
}
