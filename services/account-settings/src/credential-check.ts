// Verifies a device's MQTT credential for the broker. Each answer is correct on its own (the broker
// caches the ok ones): unknown usernames cost the same scrypt work as known ones, a disabled or expired
// credential is reported only after its password matched, and repeated failures are refused for a while
// without hashing at all. A refusal that names a known credential also names its account and that
// account's ancestry, for the broker's audit event.
//
// A password verified a moment ago against the credential's current stored hash is recognised without
// scrypt (domain/verified-passwords.ts), whichever broker replica asks: a reconnect storm then costs an
// HMAC per device here. Only the right password can be recognised; every other check (unknown
// username, wrong password, changed password, old entry) takes the scrypt path exactly as before, so
// wrong guesses cost the same and count toward lockout the same.
//
// Lockout is counted three ways (docs/limits.md, "Credential lockout"):
//   username + source address   a guesser locks out its own attempts on that username, nobody else's;
//   source address              one address guessing many usernames;
//   username, all addresses     a guess spread over many addresses (a higher bound).
// The last two would let anyone lock a device out by guessing its username from elsewhere (or from
// behind the same carrier NAT), so they are not applied when the broker says the device presented a
// chain that verified for this credential's account (`chainVerified`): such a device is held only to
// its own username-and-address count.
import { randomBytes } from 'node:crypto';
import { LruMap } from '@twoway/lru';
import type { CredentialInspectReply, CredentialInspectRequest, CredentialVerifyReply, CredentialVerifyRequest } from '@twoway/contracts';
import type { AccountStore } from './db/account-store.js';
import type { AccountRow, CredentialRow } from './db/entities.js';
import { settingsOf } from './db/account-store.js';
import { FailureLimiter, type FailureLimits } from './domain/failure-limiter.js';
import { scryptHashing, type PasswordHashing } from './domain/password-hash.js';
import type { VerifiedPasswords } from './domain/verified-passwords.js';

/** Account ancestries remembered for refused attempts (see `pathOf`); beyond this the least recently used leaves. */
const MAX_CACHED_PATHS = 10_000;

export interface CredentialLimits extends FailureLimits {
  /** Failures of one username from every address together before it is locked (unverified chains only). */
  maxFailuresPerUsername: number;
}

export interface CredentialCheckerOptions {
  limits: CredentialLimits;
  /** Passwords verified recently (bounded; docs/limits.md). */
  verified: VerifiedPasswords;
  /** scrypt unless a test counts the calls. */
  hashing?: PasswordHashing;
  clock?: () => number;
}

export class CredentialChecker {
  private readonly byUserAddress: FailureLimiter;
  private readonly byUsername: FailureLimiter;
  private readonly byAddress: FailureLimiter;
  private readonly paths = new LruMap<string, string[]>(MAX_CACHED_PATHS);

  private constructor(
    private readonly store: AccountStore,
    /** A hash of a random password: verified against for unknown usernames so timing does not tell. */
    private readonly dummyHash: string,
    limits: CredentialLimits,
    private readonly verified: VerifiedPasswords,
    private readonly hashing: PasswordHashing,
    private readonly clock: () => number,
  ) {
    const { maxFailuresPerUsername, ...perKey } = limits;
    this.byUserAddress = new FailureLimiter(perKey);
    this.byAddress = new FailureLimiter(perKey);
    this.byUsername = new FailureLimiter({ ...perKey, maxFailures: maxFailuresPerUsername });
  }

  static async create(store: AccountStore, o: CredentialCheckerOptions): Promise<CredentialChecker> {
    const hashing = o.hashing ?? scryptHashing;
    return new CredentialChecker(store, await hashing.hash(randomBytes(24).toString('base64')), o.limits, o.verified, hashing, o.clock ?? Date.now);
  }

  /** A credential was created or its password set: the operator's password is known, so its first check costs no scrypt. */
  passwordSet(credentialId: string, passwordHash: string, password: string): void {
    this.verified.remember(credentialId, passwordHash, password, this.clock());
  }

  /** A credential was changed without a new password, or removed. */
  credentialChanged(credentialId: string): void {
    this.verified.forget(credentialId);
  }

  async verify(req: CredentialVerifyRequest): Promise<CredentialVerifyReply> {
    const now = this.clock();
    const addr = req.sourceAddress ? `addr:${req.sourceAddress}` : undefined;
    const user = `user:${req.key}`;
    const userAddr = `user:${req.key}\u0000${addr ?? ''}`;
    const locked =
      this.byUserAddress.isLocked(userAddr, now) ||
      (!req.chainVerified && (this.byUsername.isLocked(user, now) || (addr !== undefined && this.byAddress.isLocked(addr, now))));
    // The reply goes to the broker only (never to the device): naming the account of a known username
    // lets the failed attempt be audited under that account, where its operators look for it.
    if (locked) {
      const known = await this.store.credentialByUsername(req.key);
      return { ok: false, reason: 'RATE_LIMITED', ...(known ? await this.owner(known) : {}) };
    }

    const row = await this.store.credentialByUsername(req.key);
    const recognised = row !== null && this.verified.matches(row.id, row.passwordHash, req.password, this.clock());
    const matched = recognised || (await this.hashing.verify(req.password, row?.passwordHash ?? this.dummyHash));
    if (!row || !matched) {
      const t = this.clock();
      this.byUserAddress.fail(userAddr, t);
      this.byUsername.fail(user, t);
      if (addr) this.byAddress.fail(addr, t);
      return { ok: false, reason: 'BAD_CREDENTIALS', ...(row ? await this.owner(row) : {}) };
    }
    // Only this address's count is forgiven: a device reconnecting often must not keep resetting the
    // username-wide count of a guess spread over other addresses.
    this.byUserAddress.succeed(userAddr);
    // Remembered whatever the credential's state: a hit only stands for "this password matches this
    // stored hash"; enabled and expiry are read from the row on every check, below.
    if (!recognised) this.verified.remember(row.id, row.passwordHash, req.password, this.clock());
    return this.standing(row, await this.store.ancestry(row.accountId));
  }

  /**
   * A dry run's question (docs/broker.md, "Dry run"): the answer `verify` would give, without its side
   * effects — no failure counted, no success forgiven, no password remembered — for a credential inside
   * `withinAccount`'s subtree only (any other is answered as unknown: a token must not learn another
   * tenant's usernames). Without a password, the password is not checked and the rest is answered as if
   * it matched. Only the username-wide lockout is read: the dry run has no source address.
   */
  async inspect(req: CredentialInspectRequest): Promise<CredentialInspectReply> {
    const checked = req.password !== undefined;
    const row = await this.store.credentialByUsername(req.key);
    const ancestry = row ? await this.store.ancestry(row.accountId) : [];
    if (!row || !ancestry.some((a) => a.id === req.withinAccount)) return { ok: false, reason: 'BAD_CREDENTIALS', passwordChecked: false };
    const ids = ancestry.map((a) => a.id);
    const who = { credentialId: row.id, accountId: row.accountId, username: row.username, ancestry: ids };
    if (!req.chainVerified && this.byUsername.isLocked(`user:${req.key}`, this.clock())) return { ok: false, reason: 'RATE_LIMITED', ...who, passwordChecked: false };
    if (req.password !== undefined) {
      const matched = this.verified.matches(row.id, row.passwordHash, req.password, this.clock()) || (await this.hashing.verify(req.password, row.passwordHash));
      if (!matched) return { ok: false, reason: 'BAD_CREDENTIALS', ...who, passwordChecked: true };
    }
    return { ...this.standing(row, ancestry), passwordChecked: checked };
  }

  /** A credential whose password matched: its own state decides (read from the row on every check). */
  private standing(row: CredentialRow, ancestry: readonly AccountRow[]): CredentialVerifyReply {
    const who = { credentialId: row.id, accountId: row.accountId, username: row.username };
    const ids = ancestry.map((a) => a.id);
    if (!row.enabled) return { ok: false, reason: 'CREDENTIAL_DISABLED', ...who, ancestry: ids };
    if (row.expiresAt && row.expiresAt.getTime() <= this.clock()) return { ok: false, reason: 'CREDENTIAL_EXPIRED', ...who, ancestry: ids };
    return { ok: true, ...who, settings: settingsOf(ancestry[0]!), ancestry: ids, requireCertificate: row.requireCertificate };
  }

  /** Whose credential a refused attempt named, with the account's ancestry for the broker's audit event. */
  private async owner(row: CredentialRow): Promise<Pick<CredentialVerifyReply, 'accountId' | 'username' | 'ancestry'>> {
    return { accountId: row.accountId, username: row.username, ancestry: await this.pathOf(row.accountId) };
  }

  /**
   * Ancestries of refused attempts, kept in memory: accounts never move and are never deleted, so an
   * entry cannot go stale. After an account's first refusal, a failure for one of its usernames costs
   * no more database reads than one for an unknown username (timing must not tell them apart), and a
   * guessing flood adds no load.
   */
  private async pathOf(accountId: string): Promise<string[]> {
    const hit = this.paths.get(accountId);
    if (hit) return hit;
    const path = await this.store.path(accountId);
    this.paths.set(accountId, path);
    return path;
  }
}
