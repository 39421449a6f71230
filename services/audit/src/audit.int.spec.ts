// The audit service against a real nats-server and a real SQLite / PostgreSQL store: events published
// on the audit stream are stored once, queried with every filter, paged, exported and tailed; tenants
// see only their own subtree. Token and ancestry lookups are answered by a fake account-settings.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import {
  AncestryRequest,
  AuditTypes,
  RequestSubjects,
  TokenVerifyRequest,
  auditSubject,
  type Account,
  type AuditEvent,
  type AuditPage,
  type Principal,
} from '@twoway/contracts';
import { loadConfig } from '@twoway/config';
import { Bus, CodedError } from '@twoway/nats';
import { createLogger } from '@twoway/telemetry';
import { NatsServer, Postgres, tempDir, waitFor } from '@twoway/testing';
import { auditSettings } from './config.js';
import { AuditService } from './service.js';
import { CSV_COLUMNS } from './domain/csv.js';
import { toRow } from './domain/audit-row.js';

const silent = createLogger('audit-test', 'silent');

// root ─┬─ acme ── acme-plant
//       └─ globex
const at = (id: string, parentId: string | null): Account => ({ id, name: id, parentId, createdAt: '2026-01-01T00:00:00.000Z' });
const accounts: Record<string, Account[]> = {
  root: [at('root', null)],
  acme: [at('acme', 'root'), at('root', null)],
  'acme-plant': [at('acme-plant', 'acme'), at('acme', 'root'), at('root', null)],
  globex: [at('globex', 'root'), at('root', null)],
};
const principal = (accountId: string): Principal => ({ tokenId: `tok-${accountId}`, name: accountId, accountId, role: 'operator', provider: accountId === 'root' });
const tokens: Record<string, Principal> = { 'token-acme': principal('acme'), 'token-globex': principal('globex'), 'token-root': principal('root') };

let n = 0;
function event(over: Partial<AuditEvent> = {}): AuditEvent {
  n += 1;
  return {
    id: randomUUID(),
    type: AuditTypes.ConnectAccepted,
    time: new Date(Date.UTC(2026, 10, 1, 0, 0, n)).toISOString(),
    account: 'acme',
    accountPath: ['acme', 'root'],
    actor: { kind: 'device', id: 'sensor-1' },
    outcome: 'accepted',
    reason: 'OK',
    device: { clientId: 'sensor-1', username: 'alice', certificateFingerprint: 'aa'.repeat(32), certificateSubject: 'CN=sensor-1' },
    sourceAddress: '127.0.0.1:5000',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    source: 'broker-test',
    ...over,
  };
}

/** A minimal CSV parser (RFC 4180: quoted fields, doubled quotes, CRLF) to read exports back. */
function parseCsv(s: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let f = '';
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '"' && s[i + 1] === '"') (f += '"'), i++;
      else if (c === '"') q = false;
      else f += c;
    } else if (c === '"') q = true;
    else if (c === ',') row.push(f), (f = '');
    else if (c === '\r' && s[i + 1] === '\n') {
      row.push(f), rows.push(row), (row = []), (f = ''), i++;
    } else f += c;
  }
  if (f || row.length) row.push(f), rows.push(row);
  return rows;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`audit service on ${dialect}`, () => {
    let nats: NatsServer;
    let pg: Postgres | undefined;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let fake: Bus;
    let pub: Bus;
    let svc: AuditService;

    const count = async (where = '1=1'): Promise<number> => Number((await svc.ds.query(`SELECT count(*) AS n FROM audit_events WHERE ${where}`))[0].n);
    const publish = async (...events: AuditEvent[]) => {
      for (const e of events) await pub.publishEvent(auditSubject(e.type), e);
    };
    const stored = (ids: string[]) =>
      waitFor(async () => (await count(`id IN (${ids.map((i) => `'${i}'`).join(',')})`)) === ids.length, { what: `${ids.length} events stored` });
    const get = async (path: string, token = 'token-acme') => {
      const r = await svc.app.inject({ method: 'GET', url: path, headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: r.statusCode, body: r.body, json: () => r.json() as AuditPage, headers: r.headers };
    };
    const ids = (p: AuditPage) => p.items.map((e) => e.id);

    before(async () => {
      nats = await NatsServer.start();
      dir = await tempDir();
      let dbUrl: string | undefined;
      if (dialect === 'postgres') {
        pg = await Postgres.start();
        dbUrl = await pg.createDatabase('audit');
      }
      fake = await Bus.connect({ servers: nats.url, name: 'fake-account-settings' });
      fake.serve(RequestSubjects.TokenVerify, TokenVerifyRequest, ({ token }) => {
        const p = tokens[token];
        if (!p) throw new CodedError('UNAUTHENTICATED');
        return { principal: p };
      });
      fake.serve(RequestSubjects.AccountAncestry, AncestryRequest, ({ accountId }) => {
        const a = accounts[accountId];
        if (!a) throw new CodedError('ACCOUNT_NOT_FOUND');
        return { ancestry: a };
      });
      pub = await Bus.connect({ servers: nats.url, name: 'publisher' });
      await pub.ensureStreams();
      const cfg = loadConfig(auditSettings, {
        TWOWAY_NATS_URL: nats.url,
        TWOWAY_DATA_DIR: dir.path,
        TWOWAY_DB_URL: dbUrl,
        TWOWAY_HTTP_PORT: '0',
        TWOWAY_AUDIT_ACK_WAIT_MS: '2000',
      });
      svc = await AuditService.start(cfg, { log: silent });
    });
    after(async () => {
      await svc?.stop();
      await pub?.stop();
      await fake?.stop();
      await nats?.stop();
      await pg?.stop();
      await dir?.[Symbol.asyncDispose]();
    });

    it('stores each published event once and is ready', async () => {
      const ingested = async () => {
        const m = await svc.app.inject({ method: 'GET', url: '/metrics' });
        return Number(/^twoway_audit_ingested_total (\d+)$/m.exec(m.body)?.[1] ?? 0);
      };
      const before = await ingested();
      const e = event();
      await publish(e);
      await stored([e.id]);
      // As /metrics shows it: counted once stored (right after the commit the store sees).
      await waitFor(async () => (await ingested()) === before + 1, { what: 'twoway_audit_ingested_total + 1' });
      const r = await get('/api/v1/accounts/acme/audit');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json().items.find((x) => x.id === e.id), e);
      const ready = await svc.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200, ready.body);
      assert.deepEqual(ready.json().checks, { nats: true, consumer: true, db: true });
    });

    it('filters by type, outcome, reason, device, certificate and time range', async () => {
      const base = Date.UTC(2026, 5, 1);
      const t = (s: number) => new Date(base + s * 1000).toISOString();
      const rejected = event({ type: AuditTypes.ConnectRejected, outcome: 'rejected', reason: 'CHAIN_UNTRUSTED', time: t(1), device: { clientId: 'dev-x', username: 'bob', certificateFingerprint: 'AB:CD:EF' } });
      const fallback = event({ type: AuditTypes.ConnectAcceptedFallback, reason: 'CERT_MISSING', time: t(2), device: { clientId: 'dev-y', username: 'carol' } });
      const certChange = event({ type: AuditTypes.CertStatusChanged, outcome: undefined, reason: undefined, device: undefined, certificateId: 'cert-42', time: t(3), actor: { kind: 'token', id: 'tok-1' } });
      const other = event({ account: 'globex', accountPath: ['globex', 'root'], time: t(2) });
      await publish(rejected, fallback, certChange, other);
      await stored([rejected.id, fallback.id, certChange.id, other.id]);
      const q = async (qs: string) => ids((await get(`/api/v1/accounts/acme/audit?${qs}`)).json());
      assert.deepEqual(await q('type=connect.rejected'), [rejected.id]);
      assert.deepEqual(await q(`type=connect.rejected,cert.*&from=${t(0)}`), [certChange.id, rejected.id]);
      assert.deepEqual(await q(`outcome=rejected`), [rejected.id]);
      assert.deepEqual(await q(`reason=CERT_MISSING`), [fallback.id]);
      assert.deepEqual(await q(`clientId=dev-y`), [fallback.id]);
      assert.deepEqual(await q(`username=bob`), [rejected.id]);
      assert.deepEqual(await q(`certificate=abcdef`), [rejected.id], 'fingerprint matches in any case and with colons');
      assert.deepEqual(await q(`certificate=cert-42`), [certChange.id]);
      assert.deepEqual(await q(`from=${t(2)}&to=${t(3)}`), [fallback.id], 'from inclusive, to exclusive; other accounts excluded');
      const bad = await get('/api/v1/accounts/acme/audit?limit=0');
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.body).error.code, 'VALIDATION_FAILED');
      const badCursor = await get('/api/v1/accounts/acme/audit?cursor=bm9wZQ');
      assert.equal(badCursor.status, 400);
      assert.equal(JSON.parse(badCursor.body).error.code, 'VALIDATION_FAILED');
      assert.equal((await get('/api/v1/accounts/acme/audit?from=yesterday')).status, 400);
    });

    it('pages newest first with a cursor that is stable under concurrent inserts', async () => {
      const client = `pager-${dialect}`;
      // 25 events, some sharing a timestamp so the id breaks ties
      const evs = Array.from({ length: 25 }, (_, i) => event({ device: { clientId: client }, time: new Date(Date.UTC(2026, 6, 1, 0, 0, Math.floor(i / 2))).toISOString() }));
      await publish(...evs);
      await stored(evs.map((e) => e.id));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r = await get(`/api/v1/accounts/acme/audit?clientId=${client}&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200);
        const page = r.json();
        seen.push(...ids(page));
        cursor = page.nextCursor;
        if (pages === 0) {
          // inserted between two page requests: newer and older than the cursor
          const newer = event({ device: { clientId: client }, time: '2026-08-01T00:00:00.000Z' });
          await publish(newer);
          await stored([newer.id]);
          evs.push(newer);
        }
        pages++;
      } while (cursor);
      assert.equal(pages, 3);
      const expected = evs
        .filter((e) => e.time !== '2026-08-01T00:00:00.000Z')
        .sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
        .map((e) => e.id);
      if (dialect === 'sqlite') assert.deepEqual(seen, expected);
      // PostgreSQL may order ids by its collation; what matters everywhere: each event exactly once, time descending.
      assert.equal(new Set(seen).size, 25);
      assert.deepEqual(new Set(seen), new Set(expected));
    });

    it('exports NDJSON and CSV (header, escaping, formulas defused)', async () => {
      const client = `export-${dialect}`;
      const tricky = event({ device: { clientId: client, username: '=HYPERLINK("http://x","y")', certificateSubject: 'CN=a, O="b"\nline' }, reason: '+SUM(1)' });
      const evs = [tricky, ...Array.from({ length: 4 }, () => event({ device: { clientId: client } }))];
      await publish(...evs);
      await stored(evs.map((e) => e.id));
      const nd = await get(`/api/v1/accounts/acme/audit?clientId=${client}&format=ndjson`);
      assert.equal(nd.status, 200);
      assert.match(String(nd.headers['content-type']), /application\/x-ndjson/);
      const lines = nd.body.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
      assert.equal(lines.length, 5);
      assert.deepEqual(lines.find((l) => l.id === tricky.id), tricky);
      const limited = await get(`/api/v1/accounts/acme/audit?clientId=${client}&format=ndjson&limit=2`);
      assert.equal(limited.body.trim().split('\n').length, 2);

      const csv = await get(`/api/v1/accounts/acme/audit?clientId=${client}&format=csv`);
      assert.equal(csv.status, 200);
      assert.match(String(csv.headers['content-type']), /text\/csv/);
      const rows = parseCsv(csv.body);
      assert.deepEqual(rows[0], [...CSV_COLUMNS]);
      assert.equal(rows.length, 6);
      const col = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
      const tr = rows.find((r) => r[col('id')] === tricky.id)!;
      assert.equal(tr[col('username')], `'=HYPERLINK("http://x","y")`);
      assert.equal(tr[col('reason')], `'+SUM(1)`);
      assert.equal(tr[col('certificateSubject')], 'CN=a, O="b"\nline');
      assert.equal(tr[col('clientId')], client);
      assert.equal(tr[col('actorKind')], 'device');
    });

    it('keeps tenants apart: another account is a 404, no token a 401', async () => {
      const g = event({ account: 'globex', accountPath: ['globex', 'root'] });
      await publish(g);
      await stored([g.id]);
      const cross = await get('/api/v1/accounts/globex/audit', 'token-acme');
      assert.equal(cross.status, 404);
      assert.equal(JSON.parse(cross.body).error.code, 'ACCOUNT_NOT_FOUND');
      const crossExport = await get('/api/v1/accounts/globex/audit?format=csv', 'token-acme');
      assert.equal(crossExport.status, 404);
      assert.doesNotMatch(crossExport.body, new RegExp(g.id));
      assert.equal((await get('/api/v1/accounts/globex/audit/stream', 'token-acme')).status, 404);
      assert.equal((await get('/api/v1/accounts/nope/audit', 'token-acme')).status, 404);
      assert.equal((await get('/api/v1/accounts/acme/audit', '')).status, 401);
      assert.equal((await get('/api/v1/accounts/acme/audit', 'wrong')).status, 401);
      const own = await get('/api/v1/accounts/globex/audit', 'token-globex');
      assert.equal(own.status, 200);
      assert.ok(ids(own.json()).includes(g.id));
      assert.ok(own.json().items.every((e) => e.account === 'globex'));
    });

    it('answers subtree queries from the account path events carry', async () => {
      const child = event({ account: 'acme-plant', accountPath: ['acme-plant', 'acme', 'root'], device: { clientId: `sub-${dialect}` } });
      const own = event({ device: { clientId: `sub-${dialect}` } });
      await publish(child, own);
      await stored([child.id, own.id]);
      const flat = ids((await get(`/api/v1/accounts/acme/audit?clientId=sub-${dialect}`)).json());
      assert.deepEqual(flat, [own.id]);
      const tree = ids((await get(`/api/v1/accounts/acme/audit?clientId=sub-${dialect}&subtree=true`)).json());
      assert.deepEqual(tree.sort(), [child.id, own.id].sort());
      const fromRoot = ids((await get(`/api/v1/accounts/root/audit?clientId=sub-${dialect}&subtree=true`, 'token-root')).json());
      assert.deepEqual(fromRoot.sort(), [child.id, own.id].sort());
      // the child account cannot see its parent's events, even with subtree
      assert.equal((await get(`/api/v1/accounts/acme/audit`, 'token-globex')).status, 404);
    });

    it('stores a redelivered event (same id, new message) once', async () => {
      const e = event();
      // Without a message id JetStream keeps both copies; the store must still keep one.
      await pub.js.publish(auditSubject(e.type), new TextEncoder().encode(JSON.stringify(e)));
      await pub.js.publish(auditSubject(e.type), new TextEncoder().encode(JSON.stringify({ ...e, source: 'copy' })));
      const marker = event();
      await publish(marker);
      await stored([e.id, marker.id]);
      assert.equal(await count(`id = '${e.id}'`), 1);
      // the store itself ignores a second insert of the same id (what a redelivery after a crash does)
      const again = toRow(e, 1);
      assert.ok(again.ok);
      await svc.repo.store([again.row, again.row]);
      assert.equal(await count(`id = '${e.id}'`), 1);
      const page = (await get('/api/v1/accounts/acme/audit?limit=1000')).json();
      assert.equal(page.items.filter((x) => x.id === e.id).length, 1);
    });

    it('keeps a malformed message as a dead letter without blocking the events behind it', async () => {
      const info = await (await pub.jsm()).streams.info('TWOWAY_AUDIT');
      await pub.js.publish(auditSubject('connect.accepted'), new TextEncoder().encode('{not json'));
      await pub.js.publish(auditSubject('connect.accepted'), new TextEncoder().encode(JSON.stringify({ id: 'x', type: 'connect.accepted' })));
      const after = event();
      await publish(after);
      await stored([after.id]);
      const dead = (await svc.ds.query(`SELECT stream_seq, problems FROM audit_dead_letters WHERE stream_seq > ${info.state.last_seq}`)) as { problems: string }[];
      assert.equal(dead.length, 2);
      assert.ok(dead.some((d) => d.problems.includes('not JSON')));
      // nothing left unacknowledged on the consumer: no infinite redelivery
      await waitFor(async () => (await (await pub.jsm()).consumers.info('TWOWAY_AUDIT', 'audit-store')).num_ack_pending === 0, { what: 'all acked' });
    });

    it('tails new events of the account as Server-Sent Events, catching up after Last-Event-ID', async () => {
      const open = (headers: Record<string, string> = {}) => {
        const url = new URL('/api/v1/accounts/acme/audit/stream?subtree=true', svc.httpUrl);
        return new Promise<IncomingMessage>((resolve, reject) => {
          const r = request(url, { headers: { authorization: 'Bearer token-acme', ...headers } }, resolve);
          r.on('error', reject);
          r.end();
        });
      };
      const collect = (res: IncomingMessage) => {
        const c = { text: '' };
        res.setEncoding('utf8');
        res.on('data', (d: string) => (c.text += d));
        return c;
      };
      const res = await open();
      let mine: AuditEvent;
      try {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        const c = collect(res);
        await waitFor(() => c.text.includes('retry:'), { what: 'stream opened' });
        mine = event({ account: 'acme-plant', accountPath: ['acme-plant', 'acme', 'root'] });
        const theirs = event({ account: 'globex', accountPath: ['globex', 'root'] });
        await publish(theirs, mine);
        await waitFor(() => c.text.includes(mine.id), { what: 'tailed event' });
        await stored([theirs.id]);
        assert.ok(!c.text.includes(theirs.id), 'another tenant’s event never reaches the tail');
        const block = c.text.split('\n\n').find((b) => b.includes(mine.id))!;
        assert.match(block, new RegExp(`^id: ${mine.id}\nevent: audit\ndata: `));
        assert.deepEqual(JSON.parse(block.split('data: ')[1]!), mine);
      } finally {
        res.destroy();
      }
      // stored while the client was away: sent first on reconnect, then live events follow
      const missed = [event({ time: '2099-01-01T00:00:00.000Z' }), event({ time: '2099-01-01T00:00:01.000Z' })];
      await publish(...missed);
      await stored(missed.map((e) => e.id));
      const again = await open({ 'last-event-id': missed[0]!.id });
      try {
        const c = collect(again);
        await waitFor(() => c.text.includes(missed[1]!.id), { what: 'catch-up' });
        assert.ok(!c.text.includes(missed[0]!.id), 'nothing up to Last-Event-ID is repeated');
        const live = event();
        await publish(live);
        await waitFor(() => c.text.includes(live.id), { what: 'live after catch-up' });
        assert.equal(c.text.split(live.id).length, 3, 'sent once (id and data lines)');
      } finally {
        again.destroy();
      }
    });

    it('deletes events older than the retention period', async () => {
      const old = event({ time: '2001-01-01T00:00:00.000Z' });
      const recent = event({ time: new Date().toISOString() });
      await publish(old, recent);
      await stored([old.id, recent.id]);
      assert.ok((await svc.runRetention()) >= 1);
      assert.equal(await count(`id = '${old.id}'`), 0);
      assert.equal(await count(`id = '${recent.id}'`), 1);
    });

    it('resumes after a NATS outage', async () => {
      nats = await nats.restart();
      const e = event();
      await waitFor(() => pub.connected, { what: 'publisher reconnected' });
      await publish(e);
      await stored([e.id]);
      await waitFor(() => svc.readiness().ready, { what: 'ready again' });
    });
  });
}
