// Verified credentials, so a reconnect storm does not make account-settings hash every password
// again (issue 4 item 3). Keyed by username plus an HMAC of the password under a key that exists only
// in this process: the password itself is never stored. Only successes are cached (failures must reach
// account-settings, which counts them for lockout). Dropped by `credential.changed`, and after a TTL
// because a credential's expiry is not an event.
import { createHmac, randomBytes } from 'node:crypto';
import type { KeyKind } from '../connect/decide.js';
import { Generation } from './generation.js';

export interface VerifiedCredential {
  accountId: string;
  credentialId: string;
  username: string;
  key: string;
  keyKind: KeyKind;
  verifiedAtMs: number;
}

export class CredentialCache {
  private readonly secret = randomBytes(32);
  private readonly entries = new Map<string, VerifiedCredential>();
  readonly generation = new Generation();

  constructor(private readonly ttlMs: number) {}

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
      return undefined;
    }
    return v;
  }
  put(password: string, v: VerifiedCredential, gen: number): void {
    if (gen !== this.generation.current || this.ttlMs === 0) return;
    this.entries.set(this.keyOf(v.key, password), v);
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
}
