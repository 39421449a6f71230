// Reads and writes of accounts, settings, credentials and tokens. Every write commits its change
// and the change + audit events describing it in one transaction (transactional outbox), then
// publishes them (the relay's `settle`) before the write answers.
import { randomUUID } from 'node:crypto';
import { And, Like, MoreThan, type DataSource, type EntityManager, type FindOperator } from 'typeorm';
import { DEFAULT_SETTINGS, requireCertificateDefault, staleCrlPolicyOf, type Account, type Actor, type Credential, type Principal, type Role, type Settings, type SettingsPatch, type TokenInfo } from '@twoway/contracts';
import { enqueueEvent } from '@twoway/persistence';
import { currentTraceparent } from '@twoway/telemetry';
import { AccountEntity, CredentialEntity, TokenEntity, type AccountRow, type CredentialRow, type TokenRow } from './entities.js';
import {
  AccountDuplicateError,
  AccountNotFoundError,
  CredentialDuplicateError,
  CredentialNotFoundError,
  SettingsRefusedError,
  TokenNotFoundError,
  isUniqueViolation,
} from '../errors.js';
import { applySettingsPatch } from '../domain/settings.js';
import { DEFAULT_TOPIC_RULE_LIMITS, type TopicRuleLimits } from '../domain/topic-rules.js';
import { accountCreated, changedFields, credentialChanged, settingsChanged, tokenCreated, tokenRevoked, type EventContext, type Outgoing } from '../domain/events.js';
import { BOOTSTRAP_TOKEN_ID, formatToken, hashToken, newTokenId } from '../domain/tokens.js';

/** The root account's fixed id: a principal whose account is this one is the provider. */
export const PROVIDER_ACCOUNT_ID = 'provider';
/** Accounts are at most this deep; a longer parent chain is a broken invariant (a cycle). */
const MAX_DEPTH = 64;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface PageQuery {
  limit?: number;
  cursor?: string;
  /** Only ids that start with it (the contracts' IdPrefix admits no LIKE wildcard). */
  idPrefix?: string;
}
const DEFAULT_LIMIT = 100;

/** The `id` condition of a page: after the cursor, and starting with the prefix. */
function idWhere(q: PageQuery): { id?: FindOperator<string> } {
  const after = q.cursor ? MoreThan(q.cursor) : undefined;
  const prefix = q.idPrefix ? Like(`${q.idPrefix}%`) : undefined;
  const op = after && prefix ? And(after, prefix) : (after ?? prefix);
  return op ? { id: op } : {};
}

export const toAccount = (r: AccountRow): Account => ({ id: r.id, name: r.name, parentId: r.parentId, createdAt: r.createdAt.toISOString() });
export const toCredential = (r: CredentialRow): Credential => ({
  id: r.id,
  accountId: r.accountId,
  username: r.username,
  enabled: r.enabled,
  expiresAt: r.expiresAt ? r.expiresAt.toISOString() : null,
  createdAt: r.createdAt.toISOString(),
  lastChain: r.chainPath && r.chainSeenAt ? { path: JSON.parse(r.chainPath) as string[], seenAt: r.chainSeenAt.toISOString() } : null,
  requireCertificate: r.requireCertificate,
});
export const toTokenInfo = (r: TokenRow): TokenInfo => ({
  id: r.id,
  accountId: r.accountId,
  name: r.name,
  role: r.role,
  expiresAt: r.expiresAt ? r.expiresAt.toISOString() : null,
  revokedAt: r.revokedAt ? r.revokedAt.toISOString() : null,
  createdAt: r.createdAt.toISOString(),
});
/** Stored settings, with the parts added since they were stored filled in with their defaults. */
export const settingsOf = (r: AccountRow): Settings => {
  const s = JSON.parse(r.settings) as Settings;
  return { ...s, revocation: { staleCrl: staleCrlPolicyOf(s) } };
};

export class AccountStore {
  constructor(
    private readonly ds: DataSource,
    /** The outbox relay: `settle()` after a commit, so a write answers once its events are published. */
    private readonly relay: { settle(): Promise<unknown> },
    /** Bounds of an account's topic rules (TWOWAY_TOPIC_RULES_MAX, TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH). */
    private readonly topicRuleLimits: TopicRuleLimits = DEFAULT_TOPIC_RULE_LIMITS,
  ) {}

  private get postgres(): boolean {
    return this.ds.options.type === 'postgres';
  }

  /** Run `fn` in a transaction, enqueue the events it returns in the same transaction, publish them after commit. */
  private async write<T>(actor: Actor, fn: (em: EntityManager, c: EventContext) => Promise<{ result: T; events: Outgoing[] }>): Promise<T> {
    const c: EventContext = { newId: randomUUID, now: new Date(), actor };
    const { result, events } = await this.ds.transaction(async (em) => {
      const r = await fn(em, c);
      // The request's trace rides with the rows, so their publish joins it (docs/observability.md).
      const traceparent = currentTraceparent();
      for (const o of r.events) await enqueueEvent(em, o.subject, o.event, traceparent);
      return r;
    });
    if (events.length) await this.relay.settle();
    return result;
  }

  // ---- bootstrap ----------------------------------------------------------------------------

  /**
   * First start: the provider (root) account and its admin token. Idempotent: when the provider
   * exists nothing happens. `token` is the operator's TWOWAY_BOOTSTRAP_TOKEN; without it a token is
   * generated and handed to `deliver` inside the transaction (if delivery fails nothing is committed).
   */
  async bootstrap(o: { providerName: string; token?: string; deliver: (token: string) => Promise<void>; actor: Actor }): Promise<{ created: boolean; generated: boolean }> {
    if (await this.ds.getRepository(AccountEntity).existsBy({ id: PROVIDER_ACCOUNT_ID })) return { created: false, generated: false };
    try {
      return await this.write(o.actor, async (em, c) => {
        const now = c.now;
        const row: AccountRow = { id: PROVIDER_ACCOUNT_ID, name: o.providerName, parentId: null, settings: JSON.stringify(DEFAULT_SETTINGS), createdAt: now, updatedAt: now };
        await em.getRepository(AccountEntity).insert(row);
        const token = o.token ?? formatToken(BOOTSTRAP_TOKEN_ID);
        const t: TokenRow = { id: BOOTSTRAP_TOKEN_ID, accountId: PROVIDER_ACCOUNT_ID, name: 'bootstrap', role: 'admin', secretHash: hashToken(token), expiresAt: null, revokedAt: null, createdAt: now };
        await em.getRepository(TokenEntity).insert(t);
        if (!o.token) await o.deliver(token);
        const path = [PROVIDER_ACCOUNT_ID];
        return { result: { created: true, generated: !o.token }, events: [...accountCreated(c, toAccount(row), path), ...tokenCreated(c, path, toTokenInfo(t))] };
      });
    } catch (e) {
      // Another replica bootstrapped between our check and insert.
      if (isUniqueViolation(e)) return { created: false, generated: false };
      throw e;
    }
  }

  // ---- accounts -----------------------------------------------------------------------------

  async accountRow(id: string): Promise<AccountRow | null> {
    return this.ds.getRepository(AccountEntity).findOneBy({ id });
  }

  /** Self first, root last. */
  async ancestry(id: string, em: EntityManager = this.ds.manager): Promise<AccountRow[]> {
    const repo = em.getRepository(AccountEntity);
    const out: AccountRow[] = [];
    let next: string | null = id;
    while (next !== null) {
      if (out.length >= MAX_DEPTH) throw new Error(`account ancestry deeper than ${MAX_DEPTH} (cycle?) at ${id}`);
      const row: AccountRow | null = await repo.findOneBy({ id: next });
      if (!row) {
        if (out.length === 0) throw new AccountNotFoundError(id);
        throw new Error(`account ${out[out.length - 1]!.id} has a missing parent ${next}`);
      }
      out.push(row);
      next = row.parentId;
    }
    return out;
  }

  /**
   * The ancestry's ids, self first: the `accountPath` of the audit events about this account. Read in
   * the write's own transaction, so an account created in it is found too.
   */
  async path(id: string, em: EntityManager = this.ds.manager): Promise<string[]> {
    return (await this.ancestry(id, em)).map((r) => r.id);
  }

  /** Direct children, or with `recursive` the whole subtree below `id` (breadth first, unpaged); `name`/`idPrefix` filter either. */
  async children(id: string, q: PageQuery & { recursive?: boolean; name?: string }): Promise<Page<Account>> {
    const repo = this.ds.getRepository(AccountEntity);
    if (q.recursive) {
      const out: Account[] = [];
      let level = [id];
      let walked = 0;
      while (level.length && walked < 10_000) {
        const rows = (await Promise.all(level.map((p) => repo.find({ where: { parentId: p }, order: { id: 'ASC' } })))).flat();
        walked += rows.length;
        out.push(...rows.filter((r) => (!q.name || r.name === q.name) && (!q.idPrefix || r.id.startsWith(q.idPrefix))).map(toAccount));
        level = rows.map((r) => r.id);
      }
      return { items: out, nextCursor: null };
    }
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await repo.find({ where: { parentId: id, ...(q.name ? { name: q.name } : {}), ...idWhere(q) }, order: { id: 'ASC' }, take: limit + 1 });
    return page(rows.map(toAccount), limit);
  }

  async createAccount(body: { name: string; parentId: string }, actor: Actor): Promise<Account> {
    try {
      return await this.write(actor, async (em, c) => {
        const repo = em.getRepository(AccountEntity);
        if (!(await repo.existsBy({ id: body.parentId }))) throw new AccountNotFoundError(body.parentId);
        if (await repo.existsBy({ parentId: body.parentId, name: body.name })) throw new AccountDuplicateError(body.parentId, body.name);
        const row: AccountRow = { id: randomUUID(), name: body.name, parentId: body.parentId, settings: JSON.stringify(DEFAULT_SETTINGS), createdAt: c.now, updatedAt: c.now };
        await repo.insert(row);
        const account = toAccount(row);
        return { result: account, events: accountCreated(c, account, await this.path(row.id, em)) };
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new AccountDuplicateError(body.parentId, body.name, { cause: e });
      throw e;
    }
  }

  // ---- settings -----------------------------------------------------------------------------

  async settings(accountId: string): Promise<Settings> {
    const row = await this.accountRow(accountId);
    if (!row) throw new AccountNotFoundError(accountId);
    return settingsOf(row);
  }

  async updateSettings(accountId: string, patch: SettingsPatch, by: Principal, actor: Actor): Promise<Settings> {
    return this.write(actor, async (em, c) => {
      const repo = em.getRepository(AccountEntity);
      // PostgreSQL: lock the row so two concurrent PUTs cannot lose each other's change. SQLite
      // serialises write transactions already.
      const row = await repo.findOne({ where: { id: accountId }, ...(this.postgres ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
      if (!row) throw new AccountNotFoundError(accountId);
      const before = settingsOf(row);
      const d = applySettingsPatch(before, patch, { provider: by.provider }, this.topicRuleLimits);
      if (!d.ok) throw new SettingsRefusedError(d.code, d.message, accountId);
      if (!d.changed) return { result: before, events: [] };
      await repo.update({ id: accountId }, { settings: JSON.stringify(d.settings), updatedAt: c.now });
      return { result: d.settings, events: settingsChanged(c, accountId, await this.path(accountId, em), before, d.settings) };
    });
  }

  // ---- credentials --------------------------------------------------------------------------

  async credentialByUsername(username: string): Promise<CredentialRow | null> {
    return this.ds.getRepository(CredentialEntity).findOneBy({ username });
  }

  /**
   * Remember the verified path a credential connected with. Not an audited change and no change event:
   * it is what the broker observed, not an operator's decision, and sessions must not be ended for it.
   * Written only when the path differs, so a fleet reconnecting with the same chains writes nothing.
   */
  async recordChain(credentialId: string, path: readonly string[], seenAt: Date): Promise<boolean> {
    const repo = this.ds.getRepository(CredentialEntity);
    const row = await repo.findOneBy({ id: credentialId });
    const json = JSON.stringify(path);
    if (!row || row.chainPath === json) return false;
    await repo.update({ id: credentialId }, { chainPath: json, chainSeenAt: seenAt });
    return true;
  }

  async chainOf(credentialId: string): Promise<string[] | null> {
    const row = await this.ds.getRepository(CredentialEntity).findOne({ where: { id: credentialId }, select: { id: true, chainPath: true } });
    return row?.chainPath ? (JSON.parse(row.chainPath) as string[]) : null;
  }

  async listCredentials(accountId: string, q: PageQuery & { username?: string }): Promise<Page<Credential>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.ds.getRepository(CredentialEntity).find({
      where: { accountId, ...(q.username ? { username: q.username } : {}), ...idWhere(q) },
      order: { id: 'ASC' },
      take: limit + 1,
    });
    return page(rows.map(toCredential), limit);
  }

  /** `requireCertificate` undefined: the default for the account's settings as they are in this transaction. */
  async createCredential(accountId: string, v: { username: string; passwordHash: string; enabled: boolean; expiresAt: Date | null; requireCertificate?: boolean }, actor: Actor): Promise<Credential> {
    try {
      return await this.write(actor, async (em, c) => {
        const repo = em.getRepository(CredentialEntity);
        if (await repo.existsBy({ username: v.username })) throw new CredentialDuplicateError();
        let requireCertificate = v.requireCertificate;
        if (requireCertificate === undefined) {
          const account = await em.getRepository(AccountEntity).findOneBy({ id: accountId });
          if (!account) throw new AccountNotFoundError(accountId);
          requireCertificate = requireCertificateDefault(settingsOf(account));
        }
        const row: CredentialRow = { id: randomUUID(), accountId, ...v, requireCertificate, createdAt: c.now, updatedAt: c.now };
        await repo.insert(row);
        const cred = toCredential(row);
        return { result: cred, events: credentialChanged(c, await this.path(accountId, em), 'added', undefined, cred) };
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new CredentialDuplicateError({ cause: e });
      throw e;
    }
  }

  async updateCredential(accountId: string, credentialId: string, v: { passwordHash?: string; enabled?: boolean; expiresAt?: Date | null; requireCertificate?: boolean }, actor: Actor): Promise<Credential> {
    return this.write(actor, async (em, c) => {
      const repo = em.getRepository(CredentialEntity);
      const row = await repo.findOneBy({ id: credentialId, accountId });
      if (!row) throw new CredentialNotFoundError(accountId, credentialId);
      const before = toCredential(row);
      const next: CredentialRow = {
        ...row,
        ...(v.passwordHash !== undefined ? { passwordHash: v.passwordHash } : {}),
        ...(v.enabled !== undefined ? { enabled: v.enabled } : {}),
        ...(v.expiresAt !== undefined ? { expiresAt: v.expiresAt } : {}),
        ...(v.requireCertificate !== undefined ? { requireCertificate: v.requireCertificate } : {}),
        updatedAt: c.now,
      };
      await repo.update({ id: credentialId }, { passwordHash: next.passwordHash, enabled: next.enabled, expiresAt: next.expiresAt, requireCertificate: next.requireCertificate, updatedAt: c.now });
      const after = toCredential(next);
      const changed = changedFields(before, after, v.passwordHash !== undefined);
      // Whether the password changed is recorded; the password and its hash never are.
      return { result: after, events: credentialChanged(c, await this.path(accountId, em), 'updated', before, after, { passwordChanged: v.passwordHash !== undefined }, changed) };
    });
  }

  async deleteCredential(accountId: string, credentialId: string, actor: Actor): Promise<void> {
    await this.write(actor, async (em, c) => {
      const repo = em.getRepository(CredentialEntity);
      const row = await repo.findOneBy({ id: credentialId, accountId });
      if (!row) throw new CredentialNotFoundError(accountId, credentialId);
      await repo.delete({ id: credentialId });
      return { result: undefined, events: credentialChanged(c, await this.path(accountId, em), 'removed', toCredential(row), undefined) };
    });
  }

  // ---- tokens -------------------------------------------------------------------------------

  async tokenRow(id: string): Promise<TokenRow | null> {
    return this.ds.getRepository(TokenEntity).findOneBy({ id });
  }

  async listTokens(accountId: string, q: PageQuery & { name?: string }): Promise<Page<TokenInfo>> {
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await this.ds.getRepository(TokenEntity).find({
      where: { accountId, ...(q.name ? { name: q.name } : {}), ...idWhere(q) },
      order: { id: 'ASC' },
      take: limit + 1,
    });
    return page(rows.map(toTokenInfo), limit);
  }

  /** Returns the token once; only its hash is stored. */
  async createToken(accountId: string, v: { name: string; role: Role; expiresAt: Date | null }, actor: Actor): Promise<{ info: TokenInfo; token: string }> {
    return this.write(actor, async (em, c) => {
      const id = newTokenId();
      const token = formatToken(id);
      const row: TokenRow = { id, accountId, name: v.name, role: v.role, secretHash: hashToken(token), expiresAt: v.expiresAt, revokedAt: null, createdAt: c.now };
      await em.getRepository(TokenEntity).insert(row);
      const info = toTokenInfo(row);
      return { result: { info, token }, events: tokenCreated(c, await this.path(accountId, em), info) };
    });
  }

  async revokeToken(accountId: string, tokenId: string, actor: Actor): Promise<TokenInfo> {
    return this.write(actor, async (em, c) => {
      const repo = em.getRepository(TokenEntity);
      const row = await repo.findOneBy({ id: tokenId, accountId });
      if (!row) throw new TokenNotFoundError(accountId, tokenId);
      // Revoking twice is not an error, and changes nothing the second time.
      if (row.revokedAt) return { result: toTokenInfo(row), events: [] };
      await repo.update({ id: tokenId }, { revokedAt: c.now });
      const after = toTokenInfo({ ...row, revokedAt: c.now });
      return { result: after, events: tokenRevoked(c, await this.path(accountId, em), toTokenInfo(row), after) };
    });
  }
}

function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: items[items.length - 1]!.id };
}
