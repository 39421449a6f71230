// Verifies a device's MQTT credential for the broker. Each answer is correct on its own (the broker
// caches the ok ones): unknown usernames cost the same scrypt work as known ones, a disabled or expired
// credential is reported only after its password matched, and repeated failures per username and per
// source address are refused for a while without hashing at all.
import { randomBytes } from 'node:crypto';
import type { CredentialVerifyReply, CredentialVerifyRequest } from '@twoway/contracts';
import type { AccountStore } from './db/account-store.js';
import { settingsOf } from './db/account-store.js';
import { FailureLimiter, type FailureLimits } from './domain/failure-limiter.js';
import { hashPassword, verifyPassword } from './domain/password-hash.js';

export class CredentialChecker {
  private readonly byUsername: FailureLimiter;
  private readonly byAddress: FailureLimiter;

  private constructor(
    private readonly store: AccountStore,
    /** A hash of a random password: verified against for unknown usernames so timing does not tell. */
    private readonly dummyHash: string,
    limits: FailureLimits,
    private readonly clock: () => number,
  ) {
    this.byUsername = new FailureLimiter(limits);
    this.byAddress = new FailureLimiter(limits);
  }

  static async create(store: AccountStore, limits: FailureLimits, clock: () => number = Date.now): Promise<CredentialChecker> {
    return new CredentialChecker(store, await hashPassword(randomBytes(24).toString('base64')), limits, clock);
  }

  async verify(req: CredentialVerifyRequest): Promise<CredentialVerifyReply> {
    const now = this.clock();
    const addr = req.sourceAddress ? `addr:${req.sourceAddress}` : undefined;
    const user = `user:${req.key}`;
    // The reply goes to the broker only (never to the device): naming the account of a known username
    // lets the failed attempt be audited under that account, where its operators look for it.
    if (this.byUsername.isLocked(user, now) || (addr && this.byAddress.isLocked(addr, now))) {
      const known = await this.store.credentialByUsername(req.key);
      return { ok: false, reason: 'RATE_LIMITED', ...(known ? { accountId: known.accountId, username: known.username } : {}) };
    }

    const row = await this.store.credentialByUsername(req.key);
    const matched = await verifyPassword(req.password, row?.passwordHash ?? this.dummyHash);
    if (!row || !matched) {
      const t = this.clock();
      this.byUsername.fail(user, t);
      if (addr) this.byAddress.fail(addr, t);
      return { ok: false, reason: 'BAD_CREDENTIALS', ...(row ? { accountId: row.accountId, username: row.username } : {}) };
    }
    this.byUsername.succeed(user);
    const who = { credentialId: row.id, accountId: row.accountId, username: row.username };
    if (!row.enabled) return { ok: false, reason: 'CREDENTIAL_DISABLED', ...who };
    if (row.expiresAt && row.expiresAt.getTime() <= this.clock()) return { ok: false, reason: 'CREDENTIAL_EXPIRED', ...who };
    const ancestry = await this.store.ancestry(row.accountId);
    return { ok: true, ...who, settings: settingsOf(ancestry[0]!), ancestry: ancestry.map((a) => a.id) };
  }
}
