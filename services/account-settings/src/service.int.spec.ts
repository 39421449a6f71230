// account-settings in-process with a real nats-server and SQLite / PostgreSQL: bootstrap, accounts,
// settings, credentials (REST and CredentialVerify over NATS), tokens, tenant isolation on every
// route, and the change + audit events it publishes through the outbox to JetStream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '@twoway/telemetry';
import type { ConsumerMessages } from 'nats';
import {
  AncestryReply,
  CredentialChainGetReply,
  CredentialChainRecordReply,
  CredentialVerifyReply,
  DEFAULT_SETTINGS,
  RequestSubjects,
  SettingsGetReply,
  Streams,
  TokenVerifyReply,
  errorBody,
  type Account,
  type Credential,
  type Settings,
} from '@twoway/contracts';
import { loadConfig } from '@twoway/config';
import { Bus, RemoteError } from '@twoway/nats';
import { NatsServer, Postgres, tempDir, waitFor } from '@twoway/testing';
import { configSchema } from './config.js';
import { AccountSettingsService, BOOTSTRAP_TOKEN_FILE } from './service.js';
import { MTLS_NOT_AVAILABLE_MESSAGE, PROVIDER_ONLY_MESSAGE } from './domain/settings.js';

const silent = { warn() {}, error() {} };

/** A logger whose lines the test can read (to prove no token is ever logged). */
function memoryLogger(): { log: Logger; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { log: pino<never>({ level: 'info' }, stream), lines: () => chunks.join('') };
}

interface Ev {
  subject: string;
  data: Record<string, unknown> & { id: string; type: string; time: string; account: string };
}

/** Check id and time are there, then drop them so the rest can be compared whole. */
function stable(e: Ev['data']): Record<string, unknown> {
  assert.equal(typeof e.id, 'string');
  assert.ok(e.id.length > 0);
  assert.ok(!Number.isNaN(Date.parse(e.time)), `time ${e.time}`);
  const { id: _id, time: _time, ...rest } = e;
  return rest;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`account-settings on ${dialect}`, () => {
    let nats: NatsServer;
    let pg: Postgres | undefined;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let svc: AccountSettingsService;
    let bus: Bus;
    let logs: ReturnType<typeof memoryLogger>;
    const events: Ev[] = [];
    const consumers: ConsumerMessages[] = [];
    let dbCount = 0;

    const dbUrl = async (): Promise<string | undefined> => (pg ? pg.createDatabase(`as_${++dbCount}`) : undefined);
    const configFor = (dataDir: string, url: string | undefined, extra: Record<string, string> = {}) =>
      loadConfig(configSchema, {
        TWOWAY_NATS_URL: nats.url,
        TWOWAY_DATA_DIR: dataDir,
        TWOWAY_HTTP_PORT: '0',
        TWOWAY_PROVIDER_NAME: 'Acme IoT',
        TWOWAY_CREDENTIAL_MAX_FAILURES: '4',
        TWOWAY_CREDENTIAL_MAX_FAILURES_PER_USERNAME: '6',
        ...(url ? { TWOWAY_DB_URL: url } : {}),
        ...extra,
      });

    let providerToken: string;

    before(async () => {
      nats = await NatsServer.start();
      dir = await tempDir();
      if (dialect === 'postgres') pg = await Postgres.start();
      logs = memoryLogger();
      svc = await AccountSettingsService.start(configFor(dir.path, await dbUrl()), { log: logs.log });
      bus = await Bus.connect({ servers: nats.url, name: 'test', log: silent });
      for (const stream of [Streams.Changes.name, Streams.Audit.name]) {
        const c = await bus.js.consumers.get(stream);
        const msgs = await c.consume();
        consumers.push(msgs);
        void (async () => {
          for await (const m of msgs) events.push({ subject: m.subject, data: m.json() });
        })();
      }
      providerToken = (await readFile(join(dir.path, BOOTSTRAP_TOKEN_FILE), 'utf8')).trim();
    });
    after(async () => {
      for (const c of consumers) await c.close().catch(() => undefined);
      await bus?.stop();
      await svc?.stop();
      await nats?.stop();
      await pg?.stop();
      await dir?.[Symbol.asyncDispose]();
    });

    const api = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, token: string | undefined, body?: unknown) => {
      const r = await svc.app.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(body !== undefined ? { payload: body as object } : {}),
      });
      return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as any) : undefined };
    };
    const verify = (key: string, password: string, sourceAddress?: string, chainVerified?: boolean) =>
      bus.request(RequestSubjects.CredentialVerify, { key, password, ...(sourceAddress ? { sourceAddress } : {}), ...(chainVerified ? { chainVerified } : {}) }, CredentialVerifyReply);
    const waitEvent = (pred: (e: Ev) => boolean, what: string) => waitFor(() => events.find(pred), { what });

    /** An account (under `parentId`, default the provider) with an admin and an operator token. */
    const tenant = async (name: string, parentId = 'provider', token = providerToken) => {
      const a = await api('POST', '/api/v1/accounts', token, { name, parentId });
      assert.equal(a.status, 201, JSON.stringify(a.body));
      const account = a.body as Account;
      const admin = await api('POST', `/api/v1/accounts/${account.id}/tokens`, token, { name: `${name} admin`, role: 'admin' });
      const operator = await api('POST', `/api/v1/accounts/${account.id}/tokens`, token, { name: `${name} operator`, role: 'operator' });
      assert.equal(admin.status, 201);
      assert.equal(operator.status, 201);
      return { account, admin: admin.body.token as string, adminId: admin.body.id as string, operator: operator.body.token as string };
    };

    // ---- bootstrap ------------------------------------------------------------------------------
    it('bootstrap (generated): the token file is 0600, its token is a provider admin, and only its location was logged', async () => {
      const file = join(dir.path, BOOTSTRAP_TOKEN_FILE);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.match(providerToken, /^tw_bootstrap_[A-Za-z0-9_-]{43}$/);
      const me = await bus.request(RequestSubjects.TokenVerify, { token: providerToken }, TokenVerifyReply);
      assert.deepEqual(me, { principal: { tokenId: 'bootstrap', name: 'bootstrap', accountId: 'provider', role: 'admin', provider: true } });
      const root = await api('GET', '/api/v1/accounts/provider', providerToken);
      assert.equal(root.status, 200);
      assert.deepEqual({ ...root.body, createdAt: 'x' }, { id: 'provider', name: 'Acme IoT', parentId: null, createdAt: 'x' });
      assert.ok(logs.lines().includes(file), 'the file location is logged');
      assert.equal(logs.lines().includes(providerToken), false, 'the token is never logged');
      assert.equal(logs.lines().includes(providerToken.slice(-20)), false);
    });

    it('bootstrap (TWOWAY_BOOTSTRAP_TOKEN): that value is the provider admin token; a restart changes nothing', async () => {
      await using d = await tempDir();
      const url = await dbUrl();
      const chosen = 'operator-chosen-bootstrap-token-0123456789';
      const l = memoryLogger();
      const s1 = await AccountSettingsService.start(configFor(d.path, url, { TWOWAY_BOOTSTRAP_TOKEN: chosen }), { log: l.log });
      try {
        const r = await s1.app.inject({ method: 'GET', url: '/api/v1/accounts/provider', headers: { authorization: `Bearer ${chosen}` } });
        assert.equal(r.statusCode, 200);
        const bad = await s1.app.inject({ method: 'GET', url: '/api/v1/accounts/provider', headers: { authorization: `Bearer ${chosen}x` } });
        assert.equal(bad.statusCode, 401);
        await assert.rejects(stat(join(d.path, BOOTSTRAP_TOKEN_FILE)), /ENOENT/);
        assert.equal(l.lines().includes(chosen), false);
      } finally {
        await s1.stop();
      }
      // Restart with another value: the first start's token stays the one (idempotent bootstrap).
      const s2 = await AccountSettingsService.start(configFor(d.path, url, { TWOWAY_BOOTSTRAP_TOKEN: 'another-value-0123456789abcdef' }), { log: l.log });
      try {
        const r = await s2.app.inject({ method: 'GET', url: '/api/v1/accounts/provider/children', headers: { authorization: `Bearer ${chosen}` } });
        assert.equal(r.statusCode, 200);
        assert.deepEqual(JSON.parse(r.body), { items: [], nextCursor: null });
        const other = await s2.app.inject({ method: 'GET', url: '/api/v1/accounts/provider', headers: { authorization: 'Bearer another-value-0123456789abcdef' } });
        assert.equal(other.statusCode, 401);
      } finally {
        await s2.stop();
      }
    });

    it('bootstrap (generated) is idempotent: a restart keeps the file and its token', async () => {
      await using d = await tempDir();
      const url = await dbUrl();
      const s1 = await AccountSettingsService.start(configFor(d.path, url), { log: memoryLogger().log });
      const file = join(d.path, BOOTSTRAP_TOKEN_FILE);
      const token = (await readFile(file, 'utf8')).trim();
      await s1.stop();
      assert.equal(s1.stop(), s1.stop(), 'stop returns the same promise twice');
      const s2 = await AccountSettingsService.start(configFor(d.path, url), { log: memoryLogger().log });
      try {
        assert.equal((await readFile(file, 'utf8')).trim(), token);
        const r = await s2.app.inject({ method: 'GET', url: '/api/v1/accounts/provider', headers: { authorization: `Bearer ${token}` } });
        assert.equal(r.statusCode, 200);
      } finally {
        await s2.stop();
      }
    });

    it('readiness reports NATS, database and outbox', async () => {
      const r = await svc.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(JSON.parse(r.body), { status: 'ready', checks: { nats: true, db: true, outbox: true } });
    });

    // ---- accounts -------------------------------------------------------------------------------
    it('creates accounts and sub-accounts as a tree, with unique names per parent, and publishes account.created', async () => {
      const a = await tenant('tree-a');
      assert.equal(a.account.parentId, 'provider');
      // an account admin creates a sub-account; the parent defaults to the caller's account
      const sub = await api('POST', '/api/v1/accounts', a.admin, { name: 'plant-1' });
      assert.equal(sub.status, 201);
      assert.equal(sub.body.parentId, a.account.id);
      assert.deepEqual(Object.keys(sub.body).sort(), ['createdAt', 'id', 'name', 'parentId']);
      const dup = await api('POST', '/api/v1/accounts', a.admin, { name: 'plant-1', parentId: a.account.id });
      assert.equal(dup.status, 409);
      assert.deepEqual(dup.body, errorBody('ACCOUNT_DUPLICATE'));
      // the same name under another parent is fine
      const elsewhere = await api('POST', '/api/v1/accounts', a.admin, { name: 'plant-1', parentId: sub.body.id });
      assert.equal(elsewhere.status, 201);

      const children = await api('GET', `/api/v1/accounts/${a.account.id}/children`, a.operator);
      assert.deepEqual(children.body, { items: [sub.body], nextCursor: null });
      const tree = await api('GET', `/api/v1/accounts/${a.account.id}/children?recursive=true`, a.operator);
      assert.deepEqual(tree.body, { items: [sub.body, elsewhere.body], nextCursor: null });
      // What `twoway --account NAME|ID-PREFIX` asks: a name may repeat in the subtree, an id prefix finds one.
      const named = await api('GET', `/api/v1/accounts/${a.account.id}/children?recursive=true&name=plant-1`, a.operator);
      assert.deepEqual(named.body.items.map((x: Account) => x.id), [sub.body.id, elsewhere.body.id]);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/children?name=plant-1`, a.operator)).body.items, [sub.body]);
      const prefixed = await api('GET', `/api/v1/accounts/${a.account.id}/children?recursive=true&idPrefix=${elsewhere.body.id.slice(0, 8)}`, a.operator);
      assert.deepEqual(prefixed.body.items, [elsewhere.body]);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/children?idPrefix=${elsewhere.body.id.slice(0, 8)}`, a.operator)).body.items, []);

      const anc = await bus.request(RequestSubjects.AccountAncestry, { accountId: elsewhere.body.id }, AncestryReply);
      assert.deepEqual(anc.ancestry.map((x) => x.id), [elsewhere.body.id, sub.body.id, a.account.id, 'provider']);
      await assert.rejects(bus.request(RequestSubjects.AccountAncestry, { accountId: 'no-such-account' }, AncestryReply), (e: unknown) => e instanceof RemoteError && e.code === 'ACCOUNT_NOT_FOUND');

      const change = await waitEvent((e) => e.subject === 'twoway.v1.account.created' && e.data.account === sub.body.id, 'account.created change');
      const aTokenId = (await bus.request(RequestSubjects.TokenVerify, { token: a.admin }, TokenVerifyReply)).principal.tokenId;
      const actor = { kind: 'token', id: aTokenId, name: 'tree-a admin', accountId: a.account.id };
      assert.deepEqual(stable(change.data), { type: 'account.created', account: sub.body.id, actor, data: { after: sub.body } });
      const audit = await waitEvent((e) => e.subject === 'twoway.v1.audit.account.created' && e.data.account === sub.body.id, 'account.created audit');
      // The audit event carries the new account's ancestry, so the parent's subtree audit query finds it.
      assert.deepEqual(stable(audit.data), { type: 'account.created', account: sub.body.id, accountPath: [sub.body.id, a.account.id, 'provider'], actor, source: 'account-settings', after: sub.body });
      const deeper = await waitEvent((e) => e.subject === 'twoway.v1.audit.account.created' && e.data.account === elsewhere.body.id, 'nested account.created audit');
      assert.deepEqual(deeper.data.accountPath, [elsewhere.body.id, sub.body.id, a.account.id, 'provider']);
    });

    // ---- settings -------------------------------------------------------------------------------
    it('settings: defaults, partial PUT, provider-only availability with its message, MTLS_NOT_AVAILABLE, and settings.changed', async () => {
      const a = await tenant('settings-a');
      const get = await api('GET', `/api/v1/accounts/${a.account.id}/settings`, a.operator);
      assert.deepEqual(get.body, DEFAULT_SETTINGS);

      const put = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { identity: { bindCertificateTo: 'clientId' } });
      assert.equal(put.status, 200);
      const afterIdentity: Settings = { ...DEFAULT_SETTINGS, identity: { bindCertificateTo: 'clientId', credentialLookup: 'username' } };
      assert.deepEqual(put.body, afterIdentity);

      const po = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { mutualTls: { available: true } });
      assert.equal(po.status, 403);
      assert.deepEqual(po.body, { error: { code: 'PROVIDER_ONLY', message: PROVIDER_ONLY_MESSAGE } });
      assert.match(po.body.error.message, /contact your provider/);

      const na = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { mutualTls: { enabled: true } });
      assert.equal(na.status, 403);
      assert.deepEqual(na.body, { error: { code: 'MTLS_NOT_AVAILABLE', message: MTLS_NOT_AVAILABLE_MESSAGE } });

      const prov = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, providerToken, { mutualTls: { available: true } });
      assert.equal(prov.status, 200);
      const on = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { mutualTls: { enabled: true }, tls: { enabled: false } });
      const final: Settings = { tls: { enabled: false }, mutualTls: { available: true, enabled: true }, identity: afterIdentity.identity, revocation: { staleCrl: 'accept' } };
      assert.deepEqual(on.body, final);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/settings`, a.admin)).body, final);

      const viaNats = await bus.request(RequestSubjects.SettingsGet, { accountId: a.account.id }, SettingsGetReply);
      assert.deepEqual(viaNats, { accountId: a.account.id, settings: final, ancestry: [a.account.id, 'provider'] });

      const adminId = a.adminId;
      const changes = await waitFor(() => {
        const c = events.filter((e) => e.subject === 'twoway.v1.settings.changed' && e.data.account === a.account.id);
        return c.length === 3 ? c : undefined;
      }, { what: 'three settings.changed events' });
      assert.deepEqual(changes.map((c) => stable(c.data)), [
        { type: 'settings.changed', account: a.account.id, actor: { kind: 'token', id: adminId, name: 'settings-a admin', accountId: a.account.id }, data: { before: DEFAULT_SETTINGS, after: afterIdentity } },
        {
          type: 'settings.changed',
          account: a.account.id,
          actor: { kind: 'token', id: 'bootstrap', name: 'bootstrap', accountId: 'provider' },
          data: { before: afterIdentity, after: { ...afterIdentity, mutualTls: { available: true, enabled: false } } },
        },
        {
          type: 'settings.changed',
          account: a.account.id,
          actor: { kind: 'token', id: adminId, name: 'settings-a admin', accountId: a.account.id },
          data: { before: { ...afterIdentity, mutualTls: { available: true, enabled: false } }, after: final },
        },
      ]);
      const audit = await waitEvent((e) => e.subject === 'twoway.v1.audit.settings.changed' && e.data.account === a.account.id, 'settings audit');
      assert.deepEqual(stable(audit.data), {
        type: 'settings.changed',
        account: a.account.id,
        accountPath: [a.account.id, 'provider'],
        actor: { kind: 'token', id: adminId, name: 'settings-a admin', accountId: a.account.id },
        source: 'account-settings',
        before: DEFAULT_SETTINGS,
        after: afterIdentity,
      });
    });

    it('settings: the stale-CRL policy is the account admin\'s choice (accept by default), seen by brokers over NATS', async () => {
      const a = await tenant('settings-crl');
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/settings`, a.admin)).body.revocation, { staleCrl: 'accept' });
      const bad = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { revocation: { staleCrl: 'maybe' } });
      assert.equal(bad.status, 400);
      const put = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { revocation: { staleCrl: 'refuse' } });
      assert.equal(put.status, 200);
      assert.deepEqual(put.body, { ...DEFAULT_SETTINGS, revocation: { staleCrl: 'refuse' } });
      const viaNats = await bus.request(RequestSubjects.SettingsGet, { accountId: a.account.id }, SettingsGetReply);
      assert.deepEqual(viaNats.settings.revocation, { staleCrl: 'refuse' });
      const operator = await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.operator, { revocation: { staleCrl: 'accept' } });
      assert.equal(operator.status, 403);
    });

    // ---- topic rules ----------------------------------------------------------------------------
    it('topic rules: stored with the settings, a change is a settings.changed event (before, after), SettingsGet carries them, invalid lists change nothing', async () => {
      const a = await tenant('rules-a');
      const path = `/api/v1/accounts/${a.account.id}/topic-rules`;
      assert.deepEqual((await api('GET', path, a.operator)).body, { rules: [] });
      const rules = [
        { effect: 'deny', action: 'both', filter: 'devices/${clientId}/admin/#' },
        { effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' },
      ];
      const put = await api('PUT', path, a.admin, { rules });
      assert.deepEqual([put.status, put.body], [200, { rules }]);
      assert.deepEqual((await api('GET', path, a.operator)).body, { rules });
      const withRules: Settings = { ...DEFAULT_SETTINGS, topicRules: rules as Settings['topicRules'] };
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/settings`, a.operator)).body, withRules);
      assert.deepEqual(await bus.request(RequestSubjects.SettingsGet, { accountId: a.account.id }, SettingsGetReply), { accountId: a.account.id, settings: withRules, ancestry: [a.account.id, 'provider'] });

      // Refused whole, with the rule named; nothing changes and no event is published.
      const bad = await api('PUT', path, a.admin, { rules: [...rules, { effect: 'allow', action: 'publish', filter: 'a/#/b' }] });
      assert.deepEqual([bad.status, bad.body], [422, { error: { code: 'TOPIC_RULES_INVALID', message: "rules[2].filter: '#' must be the last level" } }]);
      const schema = await api('PUT', path, a.admin, { rules: [{ effect: 'permit', action: 'both', filter: 'x' }] });
      assert.deepEqual([schema.status, schema.body.error.code], [400, 'VALIDATION_FAILED']);
      // Sending the document read back through PUT .../settings changes nothing either.
      assert.deepEqual((await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { tls: withRules.tls, topicRules: rules })).body, withRules);
      assert.deepEqual((await api('PUT', path, a.admin, { rules: [] })).body, { rules: [] });

      const changes = await waitFor(() => {
        const c = events.filter((e) => e.subject === 'twoway.v1.settings.changed' && e.data.account === a.account.id);
        return c.length >= 2 ? c : undefined;
      }, { what: 'two settings.changed events' });
      assert.deepEqual(changes.map((c) => (c.data as unknown as { data: unknown }).data), [
        { before: DEFAULT_SETTINGS, after: withRules },
        { before: withRules, after: DEFAULT_SETTINGS },
      ]);
      const audit = await waitEvent((e) => e.subject === 'twoway.v1.audit.settings.changed' && e.data.account === a.account.id, 'settings audit');
      assert.deepEqual([audit.data.before, audit.data.after], [DEFAULT_SETTINGS, withRules]);
    });

    it('topic rules: bounded by TWOWAY_TOPIC_RULES_MAX and TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH', async () => {
      const d = await tempDir();
      const small = await AccountSettingsService.start(configFor(d.path, await dbUrl(), { TWOWAY_TOPIC_RULES_MAX: '2', TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH: '10' }), { log: logs.log });
      try {
        const token = (await readFile(join(d.path, BOOTSTRAP_TOKEN_FILE), 'utf8')).trim();
        const put = (rules: unknown[]) => small.app.inject({ method: 'PUT', url: '/api/v1/accounts/provider/topic-rules', headers: { authorization: `Bearer ${token}` }, payload: { rules } });
        const r = (filter: string) => ({ effect: 'allow', action: 'both', filter });
        assert.equal((await put([r('a/#'), r('b/#')])).statusCode, 200);
        const many = await put([r('a'), r('b'), r('c')]);
        assert.deepEqual([many.statusCode, JSON.parse(many.body).error], [422, { code: 'TOPIC_RULES_INVALID', message: 'at most 2 topic rules per account (TWOWAY_TOPIC_RULES_MAX); 3 were sent' }]);
        const long = await put([r('abcdefghijk')]);
        assert.match(JSON.parse(long.body).error.message, /^rules\[0\]\.filter: longer than 10 characters/);
      } finally {
        await small.stop();
        await d[Symbol.asyncDispose]();
      }
    });

    // ---- credentials ----------------------------------------------------------------------------
    it('credentials: lifecycle over REST and CredentialVerify over NATS (ok, wrong, unknown, disabled, expired), with events carrying no password', async () => {
      const a = await tenant('cred-a');
      const b = await tenant('cred-b');
      const password = 'S3cret-device-password-1';
      const created = await api('POST', `/api/v1/accounts/${a.account.id}/credentials`, a.admin, { username: 'device-001', password });
      assert.equal(created.status, 201);
      const cred = created.body as Credential;
      assert.deepEqual({ ...cred, id: 'x', createdAt: 'x' }, { id: 'x', accountId: a.account.id, username: 'device-001', enabled: true, expiresAt: null, createdAt: 'x', lastChain: null, requireCertificate: false });

      // usernames are unique across the installation
      const dup = await api('POST', `/api/v1/accounts/${b.account.id}/credentials`, b.admin, { username: 'device-001', password: 'another-password' });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.error.code, 'CREDENTIAL_DUPLICATE');

      const list = await api('GET', `/api/v1/accounts/${a.account.id}/credentials`, a.operator);
      assert.deepEqual(list.body, { items: [cred], nextCursor: null });
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/credentials?username=device-001`, a.operator)).body.items, [cred]);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/credentials?idPrefix=${cred.id.slice(0, 8)}`, a.operator)).body.items, [cred]);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${b.account.id}/credentials?username=device-001`, b.admin)).body.items, [], "another account's credential is not found by its name");
      assert.equal(JSON.stringify(list.body).includes(password), false);

      const who = { credentialId: cred.id, accountId: a.account.id, username: 'device-001' };
      assert.deepEqual(await verify('device-001', password, '192.0.2.10'), { ok: true, ...who, settings: DEFAULT_SETTINGS, ancestry: [a.account.id, 'provider'], requireCertificate: false });
      // A refusal naming a known credential names its account's ancestry too (the broker audits it there).
      const ancestry = [a.account.id, 'provider'];
      assert.deepEqual(await verify('device-001', 'wrong-password', '192.0.2.10'), { ok: false, reason: 'BAD_CREDENTIALS', accountId: a.account.id, username: 'device-001', ancestry });
      assert.deepEqual(await verify('nobody-has-this-name', password, '192.0.2.10'), { ok: false, reason: 'BAD_CREDENTIALS' });


      const disabled = await api('PATCH', `/api/v1/accounts/${a.account.id}/credentials/${cred.id}`, a.admin, { enabled: false });
      assert.equal(disabled.status, 200);
      assert.equal(disabled.body.enabled, false);
      assert.deepEqual(await verify('device-001', password), { ok: false, reason: 'CREDENTIAL_DISABLED', ...who, ancestry });

      const past = new Date(Date.now() - 60_000).toISOString();
      const expired = await api('PATCH', `/api/v1/accounts/${a.account.id}/credentials/${cred.id}`, a.admin, { enabled: true, expiresAt: past });
      assert.equal(expired.body.expiresAt, past);
      assert.deepEqual(await verify('device-001', password), { ok: false, reason: 'CREDENTIAL_EXPIRED', ...who, ancestry });

      const newPassword = 'N3w-device-password-2';
      const changed = await api('PATCH', `/api/v1/accounts/${a.account.id}/credentials/${cred.id}`, a.admin, { expiresAt: null, password: newPassword });
      assert.deepEqual(changed.body, { ...cred, enabled: true, expiresAt: null });
      assert.deepEqual(await verify('device-001', password), { ok: false, reason: 'BAD_CREDENTIALS', accountId: a.account.id, username: 'device-001', ancestry });
      assert.equal((await verify('device-001', newPassword)).ok, true);

      // another account cannot reach this credential through its own path
      const viaB = await api('PATCH', `/api/v1/accounts/${b.account.id}/credentials/${cred.id}`, b.admin, { enabled: false });
      assert.equal(viaB.status, 404);
      assert.deepEqual(viaB.body, errorBody('CREDENTIAL_NOT_FOUND'));

      const del = await api('DELETE', `/api/v1/accounts/${a.account.id}/credentials/${cred.id}`, a.admin);
      assert.equal(del.status, 204);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}/credentials`, a.admin)).body, { items: [], nextCursor: null });
      assert.deepEqual(await verify('device-001', newPassword), { ok: false, reason: 'BAD_CREDENTIALS' });
      assert.equal((await api('DELETE', `/api/v1/accounts/${a.account.id}/credentials/${cred.id}`, a.admin)).status, 404);

      // events: four changes (added, three updates, removed) — whole payloads, and no password anywhere
      const actor = { kind: 'token', id: a.adminId, name: 'cred-a admin', accountId: a.account.id };
      const changes = await waitFor(() => {
        const c = events.filter((e) => e.subject === 'twoway.v1.credential.changed' && e.data.account === a.account.id);
        return c.length === 5 ? c : undefined;
      }, { what: 'credential.changed events' });
      const data = (change: string, more: object = { requireCertificate: false }) => ({ type: 'credential.changed', account: a.account.id, actor, data: { credentialId: cred.id, username: 'device-001', change, ...more } });
      assert.deepEqual(changes.map((c) => stable(c.data)), [
        data('added'),
        data('updated', { requireCertificate: false, changed: ['enabled'] }),
        data('updated', { requireCertificate: false, changed: ['enabled', 'expiresAt'] }),
        data('updated', { requireCertificate: false, changed: ['password', 'expiresAt'] }),
        data('removed', {}),
      ]);
      const audits = await waitFor(() => {
        const c = events.filter((e) => e.subject.startsWith('twoway.v1.audit.credential.') && e.data.account === a.account.id);
        return c.length === 5 ? c : undefined;
      }, { what: 'credential audit events' });
      const base = { account: a.account.id, accountPath: [a.account.id, 'provider'], actor, source: 'account-settings', device: { username: 'device-001' } };
      const disabledCred = { ...cred, enabled: false };
      const expiredCred = { ...cred, expiresAt: past };
      assert.deepEqual(audits.map((c) => [c.subject, stable(c.data)]), [
        ['twoway.v1.audit.credential.added', { type: 'credential.added', ...base, after: cred }],
        ['twoway.v1.audit.credential.changed', { type: 'credential.changed', ...base, before: cred, after: disabledCred, detail: { passwordChanged: false } }],
        ['twoway.v1.audit.credential.changed', { type: 'credential.changed', ...base, before: disabledCred, after: expiredCred, detail: { passwordChanged: false } }],
        ['twoway.v1.audit.credential.changed', { type: 'credential.changed', ...base, before: expiredCred, after: cred, detail: { passwordChanged: true } }],
        ['twoway.v1.audit.credential.removed', { type: 'credential.removed', ...base, before: cred }],
      ]);

      // The verified chain it connected with, as the broker reports it: kept, shown, written only when it changes
      // (and not for a credential that no longer exists).
      assert.deepEqual(await bus.request(RequestSubjects.CredentialChainRecord, { credentialId: cred.id, path: ['cc'.repeat(32)], seenAt: new Date().toISOString() }, CredentialChainRecordReply), { recorded: false });
      const chained = (await api('POST', `/api/v1/accounts/${a.account.id}/credentials`, a.admin, { username: 'device-002', password })).body as Credential;
      const path = ['aa'.repeat(32), 'bb'.repeat(32)];
      const seenAt = '2026-11-23T12:00:00.000Z';
      assert.deepEqual(await bus.request(RequestSubjects.CredentialChainGet, { credentialId: chained.id }, CredentialChainGetReply), { path: null });
      assert.deepEqual(await bus.request(RequestSubjects.CredentialChainRecord, { credentialId: chained.id, path, seenAt }, CredentialChainRecordReply), { recorded: true });
      assert.deepEqual(await bus.request(RequestSubjects.CredentialChainRecord, { credentialId: chained.id, path, seenAt }, CredentialChainRecordReply), { recorded: false });
      assert.deepEqual(await bus.request(RequestSubjects.CredentialChainGet, { credentialId: chained.id }, CredentialChainGetReply), { path });
      const shown = await api('GET', `/api/v1/accounts/${a.account.id}/credentials`, a.operator);
      assert.deepEqual(shown.body.items.find((c: Credential) => c.id === chained.id).lastChain, { path, seenAt });
    });

    it('credentials: requireCertificate defaults to the account having mutual TLS on, is set on create, changed by PATCH, and its change event says only it changed', async () => {
      const a = await tenant('req-a');
      const password = 'Req-device-password-1';
      const create = async (username: string, body: object = {}) => {
        const r = await api('POST', `/api/v1/accounts/${a.account.id}/credentials`, a.admin, { username, password, ...body });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body as Credential;
      };
      // Mutual TLS off (the default of a new account): off unless asked for.
      assert.equal((await create('req-plain')).requireCertificate, false);
      assert.equal((await create('req-plain-asked', { requireCertificate: true })).requireCertificate, true);
      // Available but not enabled is still off.
      assert.equal((await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, providerToken, { mutualTls: { available: true } })).status, 200);
      assert.equal((await create('req-available')).requireCertificate, false);
      // Mutual TLS on: on unless told otherwise.
      assert.equal((await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { tls: { enabled: true }, mutualTls: { enabled: true } })).status, 200);
      const required = await create('req-mtls');
      assert.equal(required.requireCertificate, true);
      assert.equal((await create('req-mtls-off', { requireCertificate: false })).requireCertificate, false);
      assert.deepEqual(await verify('req-mtls', password), {
        ok: true, credentialId: required.id, accountId: a.account.id, username: 'req-mtls', settings: { ...DEFAULT_SETTINGS, mutualTls: { available: true, enabled: true } }, ancestry: [a.account.id, 'provider'], requireCertificate: true,
      });
      // A later settings change does not touch stored credentials.
      assert.equal((await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, a.admin, { mutualTls: { enabled: false } })).status, 200);
      const listed = (await api('GET', `/api/v1/accounts/${a.account.id}/credentials?username=req-mtls`, a.operator)).body.items as Credential[];
      assert.deepEqual(listed.map((c) => c.requireCertificate), [true]);

      // Changed by PATCH; the change event carries the new value and that nothing else changed.
      const off = await api('PATCH', `/api/v1/accounts/${a.account.id}/credentials/${required.id}`, a.admin, { requireCertificate: false });
      assert.equal(off.status, 200);
      assert.deepEqual(off.body, { ...required, requireCertificate: false });
      assert.equal((await verify('req-mtls', password)).requireCertificate, false);
      // Not a boolean: refused, nothing changed.
      const bad = await api('PATCH', `/api/v1/accounts/${a.account.id}/credentials/${required.id}`, a.admin, { requireCertificate: 'yes' });
      assert.equal(bad.status, 400);
      assert.equal((await api('PATCH', `/api/v1/accounts/${a.account.id}/credentials/${required.id}`, a.operator, { requireCertificate: true })).status, 403);
      const change = await waitEvent((e) => e.subject === 'twoway.v1.credential.changed' && e.data.account === a.account.id && (e.data.data as { change: string }).change === 'updated', 'the credential.changed of the PATCH');
      assert.deepEqual(change.data.data, { credentialId: required.id, username: 'req-mtls', change: 'updated', requireCertificate: false, changed: ['requireCertificate'] });
      const audit = await waitEvent((e) => e.subject === 'twoway.v1.audit.credential.changed' && e.data.account === a.account.id, 'its audit event');
      assert.deepEqual([(audit.data.before as Credential).requireCertificate, (audit.data.after as Credential).requireCertificate], [true, false]);
      assert.equal((await verify('req-mtls', password)).ok, true);
    });

    it('credentials: repeated failures are RATE_LIMITED per username and address, per address, and per username across addresses', async () => {
      const a = await tenant('rate-a');
      const pw = 'rate-limit-password-1';
      for (const username of ['rl-user', 'rl-other']) {
        assert.equal((await api('POST', `/api/v1/accounts/${a.account.id}/credentials`, a.admin, { username, password: pw })).status, 201);
      }
      const ancestry = [a.account.id, 'provider'];
      const limited = (username: string) => ({ ok: false, reason: 'RATE_LIMITED', accountId: a.account.id, username, ancestry });

      // regression: wrong passwords for a device's username from another address locked the device out.
      // Max 4 failures in the window in this test's configuration: they lock that username at that address only.
      for (let i = 0; i < 4; i++) assert.equal((await verify('rl-user', 'wrong-guess', '198.51.100.9')).reason, 'BAD_CREDENTIALS');
      assert.deepEqual(await verify('rl-user', pw, '198.51.100.9'), limited('rl-user'));
      assert.equal((await verify('rl-user', pw, '198.51.100.1')).ok, true, 'the device at its own address is not locked out');

      // a guess spread over addresses: 6 failures of one username from anywhere lock it (unverified chains) …
      for (const last of [20, 21]) assert.equal((await verify('rl-user', 'wrong-guess', `198.51.100.${last}`)).reason, 'BAD_CREDENTIALS');
      assert.deepEqual(await verify('rl-user', pw, '198.51.100.1'), limited('rl-user'));
      // … but not a device whose chain the broker verified for this credential's account
      assert.equal((await verify('rl-user', pw, '198.51.100.1', true)).ok, true);
      // and a verified chain is still held to its own username-and-address count
      assert.deepEqual(await verify('rl-user', pw, '198.51.100.9', true), limited('rl-user'));
      // another username is unaffected
      assert.equal((await verify('rl-other', pw, '198.51.100.51')).ok, true);

      // per source address: guesses at unknown usernames from one address lock the address …
      for (let i = 0; i < 4; i++) assert.equal((await verify(`guess-${i}`, 'x-password', '203.0.113.7')).reason, 'BAD_CREDENTIALS');
      assert.deepEqual(await verify('rl-other', pw, '203.0.113.7'), limited('rl-other'));
      // … except for a device with a verified chain behind the same address (carrier NAT)
      assert.equal((await verify('rl-other', pw, '203.0.113.7', true)).ok, true);
      assert.equal((await verify('rl-other', pw, '203.0.113.8')).ok, true);
    });

    it('verified passwords: a password set over REST is recognised at its first check, a change or removal forgets it, and /metrics counts it', async () => {
      const a = await tenant('vp-a');
      const metrics = async () => {
        const r = await svc.app.inject({ method: 'GET', url: '/metrics' });
        assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        const series = new Map(r.body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
        const p = 'twoway_account_settings_verified_passwords';
        return { hits: series.get(`${p}_hits_total`), misses: series.get(`${p}_misses_total`), entries: series.get(`${p}_entries`), bound: series.get(`${p}_evictions_total{cause="bound"}`), ttl: series.get(`${p}_evictions_total{cause="ttl"}`) };
      };
      const start = await metrics();
      const since = async () => {
        const m = await metrics();
        return { hits: m.hits! - start.hits!, misses: m.misses! - start.misses!, entries: m.entries! - start.entries! };
      };
      assert.deepEqual([start.bound, start.ttl], [0, 0]);

      const cred = (await api('POST', `/api/v1/accounts/${a.account.id}/credentials`, a.admin, { username: 'vp-device', password: 'vp-password-1' })).body as Credential;
      assert.deepEqual(await since(), { hits: 0, misses: 0, entries: 1 });
      assert.equal((await verify('vp-device', 'vp-password-1')).ok, true);
      assert.deepEqual(await since(), { hits: 1, misses: 0, entries: 1 }, 'the first check of a new credential ran no scrypt');

      const path = `/api/v1/accounts/${a.account.id}/credentials/${cred.id}`;
      assert.equal((await api('PATCH', path, a.admin, { password: 'vp-password-2' })).status, 200);
      assert.equal((await verify('vp-device', 'vp-password-1')).reason, 'BAD_CREDENTIALS');
      assert.equal((await verify('vp-device', 'vp-password-2')).ok, true);
      assert.deepEqual(await since(), { hits: 2, misses: 1, entries: 1 }, 'the old password missed, the new one was recognised');

      assert.equal((await api('PATCH', path, a.admin, { enabled: false })).status, 200);
      assert.deepEqual(await since(), { hits: 2, misses: 1, entries: 0 }, 'disabling forgets it');
      assert.equal((await verify('vp-device', 'vp-password-2')).reason, 'CREDENTIAL_DISABLED');
      assert.deepEqual(await since(), { hits: 2, misses: 2, entries: 1 });
      assert.equal((await api('DELETE', path, a.admin)).status, 204);
      assert.deepEqual(await since(), { hits: 2, misses: 2, entries: 0 }, 'removing forgets it');
    });

    // ---- tokens ---------------------------------------------------------------------------------
    it('tokens: create (secret once), list without secrets, use, expire, revoke → 401 and token.revoked', async () => {
      const a = await tenant('tok-a');
      const created = await api('POST', `/api/v1/accounts/${a.account.id}/tokens`, a.admin, { name: 'ci', role: 'provisioner' });
      assert.equal(created.status, 201);
      const t = created.body as { id: string; token: string };
      assert.match(t.token, new RegExp(`^tw_${t.id}_[A-Za-z0-9_-]{43}$`));
      assert.deepEqual({ ...created.body, createdAt: 'x', token: 'x' }, { id: t.id, accountId: a.account.id, name: 'ci', role: 'provisioner', expiresAt: null, revokedAt: null, createdAt: 'x', token: 'x' });

      const listed = await api('GET', `/api/v1/accounts/${a.account.id}/tokens`, a.operator);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.items.map((x: { name: string }) => x.name).sort(), ['ci', 'tok-a admin', 'tok-a operator']);
      for (const x of listed.body.items) assert.deepEqual(Object.keys(x).sort(), ['accountId', 'createdAt', 'expiresAt', 'id', 'name', 'revokedAt', 'role']);
      assert.equal(JSON.stringify(listed.body).includes(t.token.slice(-43)), false);
      const byName = await api('GET', `/api/v1/accounts/${a.account.id}/tokens?name=ci`, a.operator);
      assert.deepEqual(byName.body.items.map((x: { id: string }) => x.id), [t.id]);
      const byPrefix = await api('GET', `/api/v1/accounts/${a.account.id}/tokens?idPrefix=${t.id.slice(0, 8)}`, a.operator);
      assert.deepEqual(byPrefix.body.items.map((x: { id: string }) => x.id), [t.id]);

      // a provisioner reads, but changes nothing here (certificates only)
      assert.equal((await api('GET', `/api/v1/accounts/${a.account.id}`, t.token)).status, 200);
      assert.equal((await api('PUT', `/api/v1/accounts/${a.account.id}/settings`, t.token, { tls: { enabled: false } })).status, 403);
      const principal = await bus.request(RequestSubjects.TokenVerify, { token: t.token }, TokenVerifyReply);
      assert.deepEqual(principal, { principal: { tokenId: t.id, name: 'ci', accountId: a.account.id, role: 'provisioner', provider: false } });
      // only admins create tokens
      const byOperator = await api('POST', `/api/v1/accounts/${a.account.id}/tokens`, a.operator, { name: 'x', role: 'operator' });
      assert.equal(byOperator.status, 403);
      assert.equal(byOperator.body.error.code, 'FORBIDDEN');
      const pastExpiry = await api('POST', `/api/v1/accounts/${a.account.id}/tokens`, a.admin, { name: 'x', role: 'operator', expiresAt: new Date(Date.now() - 1000).toISOString() });
      assert.equal(pastExpiry.status, 400);

      // expiry: works until expiresAt, then 401 TOKEN_EXPIRED
      const shortLived = await api('POST', `/api/v1/accounts/${a.account.id}/tokens`, a.admin, { name: 'short', role: 'operator', expiresAt: new Date(Date.now() + 1500).toISOString() });
      assert.equal((await api('GET', `/api/v1/accounts/${a.account.id}`, shortLived.body.token)).status, 200);
      const expired = await waitFor(async () => {
        const r = await api('GET', `/api/v1/accounts/${a.account.id}`, shortLived.body.token);
        return r.status === 401 ? r : undefined;
      }, { what: 'token expiry' });
      assert.deepEqual(expired.body, errorBody('TOKEN_EXPIRED'));
      await assert.rejects(bus.request(RequestSubjects.TokenVerify, { token: shortLived.body.token }, TokenVerifyReply), (e: unknown) => e instanceof RemoteError && e.code === 'TOKEN_EXPIRED');

      // revoke
      assert.equal((await api('DELETE', `/api/v1/accounts/${a.account.id}/tokens/${t.id}`, a.admin)).status, 204);
      const revoked = await api('GET', `/api/v1/accounts/${a.account.id}`, t.token);
      assert.equal(revoked.status, 401);
      assert.deepEqual(revoked.body, errorBody('UNAUTHENTICATED'));
      await assert.rejects(bus.request(RequestSubjects.TokenVerify, { token: t.token }, TokenVerifyReply), (e: unknown) => e instanceof RemoteError && e.code === 'UNAUTHENTICATED');
      await assert.rejects(bus.request(RequestSubjects.TokenVerify, { token: 'garbage' }, TokenVerifyReply), (e: unknown) => e instanceof RemoteError && e.code === 'UNAUTHENTICATED');
      const again = await api('GET', `/api/v1/accounts/${a.account.id}/tokens`, a.admin);
      assert.ok(again.body.items.find((x: { id: string; revokedAt: string | null }) => x.id === t.id)?.revokedAt);

      const actor = { kind: 'token', id: a.adminId, name: 'tok-a admin', accountId: a.account.id };
      const change = await waitEvent((e) => e.subject === 'twoway.v1.token.revoked' && e.data.account === a.account.id, 'token.revoked change');
      assert.deepEqual(stable(change.data), { type: 'token.revoked', account: a.account.id, actor, data: { tokenId: t.id } });
      const info = { id: t.id, accountId: a.account.id, name: 'ci', role: 'provisioner', expiresAt: null, createdAt: created.body.createdAt };
      const revokedAudit = await waitEvent((e) => e.subject === 'twoway.v1.audit.token.revoked' && e.data.account === a.account.id, 'token.revoked audit');
      const ra = stable(revokedAudit.data) as { after: { revokedAt: string } };
      const accountPath = [a.account.id, 'provider'];
      assert.deepEqual(ra, { type: 'token.revoked', account: a.account.id, accountPath, actor, source: 'account-settings', before: { ...info, revokedAt: null }, after: { ...info, revokedAt: ra.after.revokedAt } });
      const createdAudit = await waitEvent((e) => e.subject === 'twoway.v1.audit.token.created' && (e.data.after as { id?: string })?.id === t.id, 'token.created audit');
      assert.deepEqual(stable(createdAudit.data), { type: 'token.created', account: a.account.id, accountPath, actor, source: 'account-settings', after: { ...info, revokedAt: null } });
    });

    // ---- tenant isolation -----------------------------------------------------------------------
    it('tenant isolation on every route: A → B is 404 and learns nothing, operator writes are 403, no token is 401', async () => {
      const a = await tenant('iso-a');
      const b = await tenant('iso-b');
      const bCred = await api('POST', `/api/v1/accounts/${b.account.id}/credentials`, b.admin, { username: 'iso-b-device', password: 'iso-b-password' });
      const bTokens = await api('GET', `/api/v1/accounts/${b.account.id}/tokens`, b.admin);
      const bTokenId = bTokens.body.items[0].id as string;
      const aCred = await api('POST', `/api/v1/accounts/${a.account.id}/credentials`, a.admin, { username: 'iso-a-device', password: 'iso-a-password' });

      type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
      const routes: { method: Method; url: string; path: (acc: string, cred: string, tok: string) => string; body?: unknown; write: boolean }[] = [
        { method: 'POST', url: '/api/v1/accounts', path: () => '/api/v1/accounts', write: true },
        { method: 'GET', url: '/api/v1/accounts/:id', path: (x) => `/api/v1/accounts/${x}`, write: false },
        { method: 'GET', url: '/api/v1/accounts/:id/children', path: (x) => `/api/v1/accounts/${x}/children`, write: false },
        { method: 'GET', url: '/api/v1/accounts/:id/settings', path: (x) => `/api/v1/accounts/${x}/settings`, write: false },
        { method: 'PUT', url: '/api/v1/accounts/:id/settings', path: (x) => `/api/v1/accounts/${x}/settings`, body: { tls: { enabled: false } }, write: true },
        { method: 'GET', url: '/api/v1/accounts/:id/topic-rules', path: (x) => `/api/v1/accounts/${x}/topic-rules`, write: false },
        { method: 'PUT', url: '/api/v1/accounts/:id/topic-rules', path: (x) => `/api/v1/accounts/${x}/topic-rules`, body: { rules: [{ effect: 'allow', action: 'both', filter: 'intruder/#' }] }, write: true },
        { method: 'POST', url: '/api/v1/accounts/:id/credentials', path: (x) => `/api/v1/accounts/${x}/credentials`, body: { username: 'iso-new', password: 'iso-new-password' }, write: true },
        { method: 'GET', url: '/api/v1/accounts/:id/credentials', path: (x) => `/api/v1/accounts/${x}/credentials`, write: false },
        { method: 'PATCH', url: '/api/v1/accounts/:id/credentials/:credId', path: (x, c) => `/api/v1/accounts/${x}/credentials/${c}`, body: { enabled: false }, write: true },
        { method: 'DELETE', url: '/api/v1/accounts/:id/credentials/:credId', path: (x, c) => `/api/v1/accounts/${x}/credentials/${c}`, write: true },
        { method: 'POST', url: '/api/v1/accounts/:id/tokens', path: (x) => `/api/v1/accounts/${x}/tokens`, body: { name: 'iso', role: 'operator' }, write: true },
        { method: 'GET', url: '/api/v1/accounts/:id/tokens', path: (x) => `/api/v1/accounts/${x}/tokens`, write: false },
        { method: 'DELETE', url: '/api/v1/accounts/:id/tokens/:tokenId', path: (x, _c, t) => `/api/v1/accounts/${x}/tokens/${t}`, write: true },
      ];
      // the matrix covers every API route the service registered
      const registered = svc.routes.filter((r) => r.url.startsWith('/api/v1') && r.url !== '/api/v1/whoami').map((r) => `${r.method} ${r.url}`).sort();
      // whoami is the one route that is not account-scoped: it answers about the caller only
      const me = await api('GET', '/api/v1/whoami', a.operator);
      assert.deepEqual([me.status, me.body.principal.accountId, me.body.principal.role, me.body.account.id], [200, a.account.id, 'operator', a.account.id]);
      assert.deepEqual((await api('GET', '/api/v1/whoami', undefined)).status, 401);
      assert.deepEqual(routes.map((r) => `${r.method} ${r.url}`).sort(), registered);

      const bodyFor = (r: (typeof routes)[number]) => (r.url === '/api/v1/accounts' ? { name: 'intruder', parentId: b.account.id } : r.body);
      for (const r of routes) {
        const what = `${r.method} ${r.url}`;
        // A's admin against B's ids
        const cross = await api(r.method, r.path(b.account.id, bCred.body.id, bTokenId), a.admin, bodyFor(r));
        assert.equal(cross.status, 404, what);
        assert.deepEqual(cross.body, errorBody('ACCOUNT_NOT_FOUND'), what);
        // … which is exactly what an id that does not exist gets
        const missing = await api(r.method, r.path('no-such-account', 'no-such-cred', 'no-such-token'), a.admin, r.url === '/api/v1/accounts' ? { name: 'x', parentId: 'no-such-account' } : r.body);
        assert.deepEqual([missing.status, missing.body], [404, errorBody('ACCOUNT_NOT_FOUND')], what);
        // no token, and a malformed one
        const anon = await api(r.method, r.path(a.account.id, aCred.body.id, a.adminId), undefined, bodyFor(r));
        assert.deepEqual([anon.status, anon.body], [401, errorBody('UNAUTHENTICATED')], what);
        const forged = await api(r.method, r.path(a.account.id, aCred.body.id, a.adminId), `${a.admin.slice(0, -2)}xx`, bodyFor(r));
        assert.deepEqual([forged.status, forged.body], [401, errorBody('UNAUTHENTICATED')], what);
        // A's operator on A's own ids: reads pass, writes are 403
        const op = await api(r.method, r.path(a.account.id, aCred.body.id, a.adminId), a.operator, r.url === '/api/v1/accounts' ? { name: 'op-child' } : r.body);
        if (r.write) assert.deepEqual([op.status, op.body.error.code], [403, 'FORBIDDEN'], what);
        else assert.equal(op.status, 200, what);
      }
      // nothing of B changed
      assert.deepEqual((await api('GET', `/api/v1/accounts/${b.account.id}/settings`, b.admin)).body, DEFAULT_SETTINGS);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${b.account.id}/credentials`, b.admin)).body.items, [bCred.body]);
      assert.equal((await api('GET', `/api/v1/accounts/${b.account.id}`, b.admin)).status, 200, 'B admin token still works');
      assert.deepEqual((await api('GET', `/api/v1/accounts/${b.account.id}/children`, b.admin)).body.items, []);
      // a sub-account token cannot climb to its parent
      const sub = await tenant('iso-a-sub', a.account.id, a.admin);
      assert.deepEqual((await api('GET', `/api/v1/accounts/${a.account.id}`, sub.admin)).body, errorBody('ACCOUNT_NOT_FOUND'));
      assert.equal((await api('GET', `/api/v1/accounts/${sub.account.id}`, a.operator)).status, 200, 'a parent reaches down its tree');
    });

    it('no password, password hash or token secret appears in any published event', async () => {
      await waitFor(() => events.length > 20, { what: 'events' });
      const all = JSON.stringify(events);
      for (const secret of ['S3cret-device-password-1', 'N3w-device-password-2', 'rate-limit-password-1', 'iso-a-password', 'iso-b-password', 'scrypt$', 'passwordHash', 'password_hash', 'secretHash', providerToken, providerToken.slice(-43)]) {
        assert.equal(all.includes(secret), false, `an event contains ${secret.slice(0, 12)}`);
      }
      // No password property anywhere (a change event may name the field it touched: `changed: ["password"]`).
      assert.equal(/"password"\s*:/.test(all), false);
      assert.equal(/tw_[0-9a-f]{24}_/.test(all), false, 'no API token in any event');
    });
  });
}
