// Certificate expiry in cert-registry, in-process against a real nats-server and a real SQLite file or
// PostgreSQL database: the scan audits each crossing once (cert.expiring, then cert.expired) whatever
// the number of scans or replicas, the gauges count what it found, and the list filters and flags
// expiry. The clock is injected: the test moves it forward instead of waiting.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { JetStreamManager } from 'nats';
import { Bus } from '@twoway/nats';
import { ApiError } from '@twoway/http';
import { NatsServer, Postgres, makeTestPki, tempDir } from '@twoway/testing';
import { loadConfig } from '@twoway/config';
import { createRootCa, issueDeviceCert, type Issued } from '@twoway/pki';
import { DAY_MS, Streams, type Account, type AuditEvent, type Principal } from '@twoway/contracts';
import { CertRegistryService } from './service.js';
import { certRegistrySettings } from './config.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const t0 = '2026-01-01T00:00:00.000Z';
const tree: Record<string, Account> = {
  root: { id: 'root', name: 'Provider', parentId: null, createdAt: t0 },
  'acct-a': { id: 'acct-a', name: 'A', parentId: 'root', createdAt: t0 },
  'acct-b': { id: 'acct-b', name: 'B', parentId: 'root', createdAt: t0 },
};
const tokens: Record<string, Principal> = {
  'admin-a': { tokenId: 'tok-a', name: 'alice', accountId: 'acct-a', role: 'admin', provider: false },
  'admin-b': { tokenId: 'tok-b', name: 'bob', accountId: 'acct-b', role: 'admin', provider: false },
};

/** account-settings as the registry asks it (tokens, ancestries); `unreachable` accounts fail like an outage. */
const unreachable = new Set<string>();
const resolver = {
  async principal(token: string): Promise<Principal> {
    const p = tokens[token];
    if (!p) throw new ApiError('UNAUTHENTICATED');
    return p;
  },
  async ancestry(accountId: string): Promise<Account[]> {
    if (unreachable.has(accountId)) throw new ApiError('UNAVAILABLE');
    const chain: Account[] = [];
    for (let a = tree[accountId]; a; a = a.parentId ? tree[a.parentId] : undefined) chain.push(a);
    if (!chain.length) throw new ApiError('ACCOUNT_NOT_FOUND');
    return chain;
  },
};

/** What one dialect's tests run on, started together and stopped in reverse. */
interface Running {
  nats: NatsServer;
  pg?: Postgres;
  dbUrl?: string;
  dir: Awaited<ReturnType<typeof tempDir>>;
  client: Bus;
  jsm: JetStreamManager;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`certificate expiry in cert-registry on ${dialect}`, () => {
    const run = {} as Running;
    let svc: CertRegistryService;
    /** The registry's clock: real time moved forward by `skewMs`. */
    let skewMs = 0;
    const now = () => new Date(Date.now() + skewMs);
    const ids: Record<string, string> = {};
    const issued: Record<string, Issued> = {};

    const env = () => ({
      TWOWAY_NATS_URL: run.nats.url,
      TWOWAY_DATA_DIR: run.dir.path,
      TWOWAY_HTTP_PORT: '0',
      TWOWAY_EXPIRY_WARNING_DAYS: '30',
      // Scans run when the test asks (and once at start): the timer never fires during the test.
      TWOWAY_EXPIRY_SCAN_INTERVAL_MS: String(24 * 3600 * 1000),
      ...(run.dbUrl ? { TWOWAY_DB_URL: run.dbUrl } : {}),
    });

    before(async () => {
      run.dir = await tempDir();
      run.nats = await NatsServer.start();
      if (dialect === 'postgres') {
        run.pg = await Postgres.start();
        run.dbUrl = await run.pg.createDatabase('cert_registry_expiry');
      }
      run.client = await Bus.connect({ servers: run.nats.url, name: 'test-client', log });
      run.jsm = await run.client.jsm();
      svc = await CertRegistryService.start(loadConfig(certRegistrySettings, env()), { log, resolver, now });
      // The scan at start is over before anything is registered (a scan waits for the one in progress).
      await svc.expiry.scan();
      const pki = await makeTestPki();
      issued['expiring-root'] = await createRootCa({ commonName: 'root ending in 10 days', days: 10 });
      issued['long-intermediate'] = pki.intermediate;
      issued['pinned-leaf'] = await issueDeviceCert({ issuer: pki.intermediate, commonName: 'pinned sensor', notAfter: new Date(Date.now() + 40 * DAY_MS) });
      issued['b-root'] = await createRootCa({ commonName: 'root of B ending in 5 days', days: 5 });
      issued['b-revoked'] = await createRootCa({ commonName: 'revoked root of B ending in 20 days', days: 20 });
      for (const [name, account, token] of [
        ['expiring-root', 'acct-a', 'admin-a'],
        ['long-intermediate', 'acct-a', 'admin-a'],
        ['pinned-leaf', 'acct-a', 'admin-a'],
        ['b-root', 'acct-b', 'admin-b'],
        ['b-revoked', 'acct-b', 'admin-b'],
      ] as const) {
        const r = await call('POST', `/api/v1/accounts/${account}/certificates`, token, { name, usage: 'MUTUAL_AUTHENTICATION', certificate: issued[name]!.certPem });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        ids[name] = r.body.id;
      }
      assert.equal((await call('PATCH', `/api/v1/accounts/acct-b/certificates/${ids['b-revoked']}`, 'admin-b', { status: 'REVOKED' })).status, 200);
    });
    after(async () => {
      await svc?.stop();
      await run.client?.stop();
      await run.nats?.stop();
      await run.pg?.stop();
      await run.dir?.[Symbol.asyncDispose]();
    });

    async function call(method: 'GET' | 'POST' | 'PATCH', url: string, token: string, payload?: object) {
      const r = await svc.http.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
      return { status: r.statusCode, body: JSON.parse(r.body) as any };
    }
    /** Every expiry audit event on the AUDIT stream so far, in stream order. */
    async function expiryEvents(): Promise<AuditEvent[]> {
      const out: AuditEvent[] = [];
      const last = (await run.jsm.streams.info(Streams.Audit.name)).state.last_seq;
      for (let seq = 1; seq <= last; seq++) {
        const m = await run.jsm.streams.getMessage(Streams.Audit.name, { seq });
        if (/\.cert\.expir/.test(m.subject)) out.push(m.json<AuditEvent>());
      }
      return out;
    }
    const metrics = async () => (await svc.http.inject({ method: 'GET', url: '/metrics' })).body;
    const sample = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1);

    it('audits each registration that came within the window once, with its facts, whatever the number of scans', async () => {
      const first = await svc.expiry.scan();
      assert.deepEqual(first, { written: { expiring: 2, expired: 0 }, deferred: 0 });
      const events = await expiryEvents();
      assert.deepEqual(events.map((e) => [e.type, e.certificateId]).sort(), [['cert.expiring', ids['b-root']], ['cert.expiring', ids['expiring-root']]].sort());
      const a = events.find((e) => e.certificateId === ids['expiring-root'])!;
      const cert = issued['expiring-root']!.cert;
      assert.deepEqual({ ...a, id: undefined, time: undefined }, {
        id: undefined,
        time: undefined,
        type: 'cert.expiring',
        account: 'acct-a',
        accountPath: ['acct-a', 'root'],
        actor: { kind: 'system', id: 'cert-registry' },
        certificateId: ids['expiring-root'],
        source: 'cert-registry',
        detail: { name: 'expiring-root', fingerprint: cert.fingerprint, subject: cert.subject, kind: 'root', status: 'VALID', notAfter: cert.notAfter.toISOString(), daysLeft: 9, windowDays: 30 },
      });

      // Scans again (and the one at start before the registrations): nothing more.
      assert.deepEqual(await svc.expiry.scan(), { written: { expiring: 0, expired: 0 }, deferred: 0 });
      assert.deepEqual(await svc.expiry.scan(), { written: { expiring: 0, expired: 0 }, deferred: 0 });
      assert.equal((await expiryEvents()).length, 2, 'audited once');
    });

    it('counts them per account in /metrics; a revoked registration is neither audited nor counted', async () => {
      const text = await metrics();
      assert.equal(sample(text, 'twoway_cert_registry_certificates_expiring{account="acct-a"}'), '1');
      assert.equal(sample(text, 'twoway_cert_registry_certificates_expiring{account="acct-b"}'), '1', 'b-revoked is not counted');
      assert.equal(sample(text, 'twoway_cert_registry_certificates_expired{account="acct-a"}'), '0');
      assert.equal(sample(text, 'twoway_cert_registry_expiry_notices_total{type="cert.expiring"}'), '2');
      assert.equal(sample(text, 'twoway_cert_registry_expiry_accounts_omitted'), '0');
      assert.match(text, /# TYPE twoway_cert_registry_certificates_expiring gauge/);
    });

    it('lists the certificates to renew with expiresWithinDays, and says where each stands', async () => {
      const list = async (account: string, token: string, q = '') => call('GET', `/api/v1/accounts/${account}/certificates${q}`, token);
      const all = await list('acct-a', 'admin-a');
      assert.deepEqual(all.body.items.map((c: any) => [c.name, c.expiry]), [['expiring-root', 'expiring'], ['long-intermediate', 'ok'], ['pinned-leaf', 'ok']]);
      assert.deepEqual((await list('acct-a', 'admin-a', '?expiresWithinDays=30')).body.items.map((c: any) => c.name), ['expiring-root']);
      assert.deepEqual((await list('acct-a', 'admin-a', '?expiresWithinDays=45')).body.items.map((c: any) => c.name), ['expiring-root', 'pinned-leaf']);
      assert.deepEqual((await list('acct-a', 'admin-a', '?expiresWithinDays=0')).body.items, [], 'nothing has expired yet');
      // The filter is about dates: a revoked certificate ending soon is listed too (its status says the rest).
      assert.deepEqual((await list('acct-b', 'admin-b', '?expiresWithinDays=30&status=REVOKED')).body.items.map((c: any) => [c.name, c.expiry]), [['b-revoked', 'expiring']]);
      const one = await call('GET', `/api/v1/accounts/acct-a/certificates/${ids['pinned-leaf']}`, 'admin-a');
      assert.equal(one.body.expiry, 'ok');
      // Bad values are refused with the reason; another tenant's list stays out of reach with the filter too.
      for (const bad of ['-1', '3651', 'soon']) {
        const r = await list('acct-a', 'admin-a', `?expiresWithinDays=${bad}`);
        assert.equal(r.status, 400, bad);
        assert.equal(r.body.error.code, 'VALIDATION_FAILED', bad);
        assert.match(r.body.error.message, /expiresWithinDays/, bad);
      }
      const foreign = await list('acct-a', 'admin-b', '?expiresWithinDays=30');
      assert.deepEqual([foreign.status, foreign.body.error.code], [404, 'ACCOUNT_NOT_FOUND']);
    });

    it('audits expiry once more when each has passed, and the pinned leaf once it comes within the window', async () => {
      skewMs = 15 * DAY_MS;
      assert.deepEqual(await svc.expiry.scan(), { written: { expiring: 1, expired: 2 }, deferred: 0 });
      assert.deepEqual(await svc.expiry.scan(), { written: { expiring: 0, expired: 0 }, deferred: 0 });
      const events = await expiryEvents();
      assert.deepEqual(
        events.slice(2).map((e) => [e.type, e.certificateId]).sort(),
        [['cert.expired', ids['b-root']], ['cert.expired', ids['expiring-root']], ['cert.expiring', ids['pinned-leaf']]].sort(),
      );
      const expired = events.find((e) => e.type === 'cert.expired' && e.certificateId === ids['expiring-root'])!;
      assert.equal(expired.detail?.daysLeft, -6);
      const text = await metrics();
      assert.equal(sample(text, 'twoway_cert_registry_certificates_expiring{account="acct-a"}'), '1');
      assert.equal(sample(text, 'twoway_cert_registry_certificates_expired{account="acct-a"}'), '1');
      assert.equal(sample(text, 'twoway_cert_registry_certificates_expired{account="acct-b"}'), '1');
      assert.equal(sample(text, 'twoway_cert_registry_expiry_notices_total{type="cert.expired"}'), '2');
      const list = await call('GET', '/api/v1/accounts/acct-a/certificates?expiresWithinDays=0', 'admin-a');
      assert.deepEqual(list.body.items.map((c: any) => [c.name, c.expiry]), [['expiring-root', 'expired']]);
    });

    it('defers a notice whose account ancestry cannot be read to the next scan, then writes it with its path', async () => {
      const late = await createRootCa({ commonName: 'root ending soon, ancestry away', days: 20 });
      const r = await call('POST', '/api/v1/accounts/acct-b/certificates', 'admin-b', { name: 'late', usage: 'MUTUAL_AUTHENTICATION', certificate: late.certPem });
      assert.equal(r.status, 201);
      unreachable.add('acct-b');
      try {
        assert.deepEqual(await svc.expiry.scan(), { written: { expiring: 0, expired: 0 }, deferred: 1 });
      } finally {
        unreachable.delete('acct-b');
      }
      assert.deepEqual(await svc.expiry.scan(), { written: { expiring: 1, expired: 0 }, deferred: 0 });
      const ev = (await expiryEvents()).find((e) => e.certificateId === r.body.id)!;
      assert.deepEqual([ev.type, ev.accountPath], ['cert.expiring', ['acct-b', 'root']]);
    });

    // Replicas share a PostgreSQL database; SQLite is the embedded default of one process.
    it('two replicas scanning at once audit a crossing once', { skip: dialect === 'sqlite' ? 'replicas need PostgreSQL' : false }, async () => {
      const other = await CertRegistryService.start(loadConfig(certRegistrySettings, env()), { log, resolver, now });
      try {
        const soon = await createRootCa({ commonName: 'root ending soon, seen by two replicas', days: 40 });
        const r = await call('POST', '/api/v1/accounts/acct-a/certificates', 'admin-a', { name: 'two replicas', usage: 'MUTUAL_AUTHENTICATION', certificate: soon.certPem });
        assert.equal(r.status, 201);
        const results = await Promise.all([svc.expiry.scan(), other.expiry.scan(), svc.expiry.scan(), other.expiry.scan()]);
        // The other replica's scan at start may have been the one.
        assert.ok(results.reduce((n, x) => n + x.written.expiring, 0) <= 1);
        assert.equal((await expiryEvents()).filter((e) => e.certificateId === r.body.id).length, 1);
      } finally {
        await other.stop();
      }
    });
  });
}
