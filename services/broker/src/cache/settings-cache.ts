// Settings and ancestry per account, filled by CredentialVerify and SettingsGet replies and dropped by
// `settings.changed` events (or all at once when NATS comes back). Bounded: at the bound the least
// recently used account leaves (its next connect asks account-settings again).
import type { Settings } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import { Generation } from './generation.js';

export interface AccountSettings {
  accountId: string;
  settings: Settings;
  /** Self first, root last. */
  ancestry: readonly string[];
}

export class SettingsCache {
  private readonly byAccount: LruMap<string, AccountSettings>;
  readonly generation = new Generation();

  constructor(maxEntries: number) {
    this.byAccount = new LruMap(maxEntries);
  }

  get(accountId: string): AccountSettings | undefined {
    return this.byAccount.get(accountId);
  }
  /** Store only if nothing was invalidated since `gen` was read. */
  put(v: AccountSettings, gen: number): void {
    if (gen === this.generation.current) this.byAccount.set(v.accountId, v);
  }
  invalidate(accountId: string): void {
    this.generation.bump();
    this.byAccount.delete(accountId);
  }
  clear(): void {
    this.generation.bump();
    this.byAccount.clear();
  }
  get size(): number {
    return this.byAccount.size;
  }
  get evictions(): number {
    return this.byAccount.evictions;
  }
}
