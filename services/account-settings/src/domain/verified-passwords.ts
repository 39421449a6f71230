// Passwords account-settings verified a moment ago, so a device reconnecting through any broker replica
// costs an HMAC here instead of a scrypt (docs/operations.md, "Password checks in a reconnect storm"). Per credential id it
// keeps an HMAC-SHA256, under a key drawn at random when the process starts and never written anywhere,
// of the stored hash and the password together, and when that pair was verified. Only the password
// that was verified, against the stored hash the credential still has, within the TTL, matches: any
// other password, a changed password (a new hash with a new salt) or an old entry is a miss, and the
// caller verifies with scrypt as it would without this cache. So nothing here ever says a password is
// wrong. Bounded (docs/limits.md): at the bound the least recently used entry leaves. Time is passed in.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LruMap } from '@twoway/lru';

export interface VerifiedPasswordsOptions {
  /** Credentials remembered; beyond it the least recently used leaves (0: none). */
  maxEntries: number;
  /** An entry is used this long after its password was verified (0: the cache is off). */
  ttlMs: number;
}

interface Entry {
  mac: Buffer;
  verifiedAtMs: number;
}

export class VerifiedPasswords {
  private readonly key = randomBytes(32);
  private readonly entries: LruMap<string, Entry>;
  /** Checks answered from an entry, without scrypt. */
  hits = 0;
  /** Checks of a known credential that found no usable entry (no entry, another password or hash, too old). */
  misses = 0;
  /** Entries dropped because their TTL had passed. */
  expired = 0;

  constructor(private readonly o: VerifiedPasswordsOptions) {
    this.entries = new LruMap(o.ttlMs === 0 ? 0 : o.maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }
  /** Entries dropped to stay within the bound. */
  get evictions(): number {
    return this.entries.evictions;
  }

  /** True when exactly this password was verified against exactly this stored hash less than the TTL ago. */
  matches(credentialId: string, storedHash: string, password: string, nowMs: number): boolean {
    // A wrong password leaves the entry (and its recency) alone: guesses must not flush a device's entry.
    let e = this.entries.peek(credentialId);
    if (e && this.isExpired(e, nowMs)) {
      this.entries.delete(credentialId);
      this.expired += 1;
      e = undefined;
    }
    const hit = e !== undefined && timingSafeEqual(e.mac, this.mac(storedHash, password));
    if (hit) {
      this.hits += 1;
      this.entries.get(credentialId);
    } else this.misses += 1;
    return hit;
  }

  /** Remember that `password` matched `storedHash` (verified by scrypt, or just set by an operator). */
  remember(credentialId: string, storedHash: string, password: string, nowMs: number): void {
    // The least recently used entry is the likeliest to be too old: give its room back before a
    // healthy entry has to leave for the bound.
    const oldest = this.entries.oldest();
    if (oldest && oldest[0] !== credentialId && this.isExpired(oldest[1], nowMs)) {
      this.entries.delete(oldest[0]);
      this.expired += 1;
    }
    this.entries.set(credentialId, { mac: this.mac(storedHash, password), verifiedAtMs: nowMs });
  }

  /** The credential changed or is gone. */
  forget(credentialId: string): void {
    this.entries.delete(credentialId);
  }

  private isExpired(e: Entry, nowMs: number): boolean {
    return nowMs - e.verifiedAtMs >= this.o.ttlMs;
  }

  private mac(storedHash: string, password: string): Buffer {
    // The NUL keeps the two parts apart: a stored hash never contains one.
    return createHmac('sha256', this.key).update(storedHash, 'utf8').update('\u0000', 'utf8').update(password, 'utf8').digest();
  }
}
