// Verified credentials, so a reconnect storm does not make account-settings hash every password
// again (docs/broker.md, "Warm caches"). Keyed by username plus an HMAC of the password under a key that exists only
// in this process: the password itself is never stored. Only successes are cached (failures must reach
// account-settings, which counts them for lockout). Dropped by `credential.changed`, and after a TTL
// because a credential's expiry is not an event. Bounded: at the bound the least recently used entry
// leaves (that device's next connect is verified by account-settings again); expired entries are swept.
import { createHmac, randomBytes } from 'node:crypto';
import { LruMap } from '@twoway/lru';
import type { KeyKind } from '../connect/decide.js';
import { Generation } from './generation.js';

export interface VerifiedCredential {
  accountId: string;
  credentialId: string;
  username: string;
  key: string;
  keyKind: KeyKind;
  /** Accepted only on a trusted chain; a change of it is a `credential.changed`, which drops the entry. */
  requireCertificate: boolean;
  verifiedAtMs: number;
}

export class CredentialCache {
  private readonly secret = randomBytes(32);
  private readonly entries: LruMap<string, VerifiedCredential>;
  readonly generation = new Generation();
  /** Entries dropped because their TTL passed (on read or by a sweep). */
  expired = 0;

  constructor(
    private readonly ttlMs: number,
    maxEntries: number,
  ) {
    this.entries = new LruMap(maxEntries);
  }

  private keyOf(key: string, password: string): string {
    return `${key}\u0000${createHmac('sha256', this.secret).update(password, 'utf8').digest('base64')}`;
  }

  /**
   * Which verifications may share one request (single-flight): the same key, password and source
   * address. Concurrent attempts with the same password get the same answer anyway; keeping the
   * address in it leaves account-settings' per-address lockout counting every other address.
   */
  flightKey(key: string, password: string, sourceAddress: string | undefined): string {
    return `${this.keyOf(key, password)}\u0000${sourceAddress ?? ''}`;
  }

  get(key: string, password: string, nowMs: number): VerifiedCredential | undefined {
    const k = this.keyOf(key, password);
    const v = this.entries.get(k);
    if (v && nowMs - v.verifiedAtMs > this.ttlMs) {
      this.entries.delete(k);
      this.expired += 1;
      return undefined;
    }
    return v;
  }
  put(password: string, v: VerifiedCredential, gen: number): void {
    if (gen !== this.generation.current || this.ttlMs === 0) return;
    // The least recently used entries are the likeliest to have expired: drop a couple on each fill,
    // so expired entries do not wait for the periodic sweep to give their room back.
    for (let i = 0; i < 2; i++) {
      const o = this.entries.oldest();
      if (!o || v.verifiedAtMs - o[1].verifiedAtMs <= this.ttlMs) break;
      this.entries.delete(o[0]);
      this.expired += 1;
    }
    this.entries.set(this.keyOf(v.key, password), v);
  }
  /** Drop every expired entry (the broker runs this periodically); returns how many left. */
  sweep(nowMs: number): number {
    let n = 0;
    for (const [k, v] of this.entries) {
      if (nowMs - v.verifiedAtMs > this.ttlMs) {
        this.entries.delete(k);
        n += 1;
      }
    }
    this.expired += n;
    return n;
  }
  /** Drop every entry of this credential (by id or username): a change may be a new password or a disable. */
  invalidate(credentialId: string, username: string): void {
    this.generation.bump();
    for (const [k, v] of this.entries) if (v.credentialId === credentialId || v.username === username || v.key === username) this.entries.delete(k);
  }
  clear(): void {
    this.generation.bump();
    this.entries.clear();
  }
  get size(): number {
    return this.entries.size;
  }
  get evictions(): number {
    return this.entries.evictions;
  }
}
