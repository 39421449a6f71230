// kill -9 the audit service in the middle of a burst of 10,000 events; after a restart every
// event is stored exactly once. Then a downstream durable consumer, started afterwards, replays the
// whole stream from the beginning (examples/audit-consumer).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { auditSubject, AuditTypes, type AuditEvent } from '@twoway/contracts';
import { Bus } from '@twoway/nats';
import { NatsServer, OwnedProcess, freePort, tempDir, waitFor } from '@twoway/testing';

const BURST = 10_000;
const IN_FLIGHT = 200;
const root = new URL('../../../', import.meta.url).pathname;

describe('audit service crash during a burst', () => {
  let nats: NatsServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: Bus;
  let db: DataSource | undefined;
  const procs: OwnedProcess[] = [];
  let port: number;

  const spawnAudit = () => {
    const p = OwnedProcess.spawn('audit', process.execPath, ['--import', 'tsx', 'services/audit/src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        TWOWAY_NATS_URL: nats.url,
        TWOWAY_DATA_DIR: dir.path,
        TWOWAY_HTTP_PORT: String(port),
        TWOWAY_LOG_LEVEL: 'warn',
        // redeliveries of what the killed process had not acked come after this
        TWOWAY_AUDIT_ACK_WAIT_MS: '2000',
      },
    });
    procs.push(p);
    return p;
  };
  const ready = (p: OwnedProcess) =>
    waitFor(async () => {
      if (!p.running) throw new Error(`audit exited early:\n${p.log}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
    }, { timeoutMs: 30_000, what: 'audit service ready' });
  const counts = async () => {
    const [r] = (await db!.query('SELECT count(*) AS n, count(DISTINCT id) AS d FROM audit_events')) as { n: number; d: number }[];
    return { n: Number(r!.n), d: Number(r!.d) };
  };

  before(async () => {
    nats = await NatsServer.start();
    dir = await tempDir();
    port = await freePort();
    bus = await Bus.connect({ servers: nats.url, name: 'burst' });
    await bus.ensureStreams();
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await db?.destroy();
    await bus?.stop();
    await nats?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  it('stores every event of the burst exactly once across a kill -9 and restart', { timeout: 90_000 }, async (t) => {
    const first = spawnAudit();
    await ready(first);
    const file = join(dir.path, 'audit.sqlite');
    assert.ok(existsSync(file));
    db = await new DataSource({ type: 'better-sqlite3', database: file, readonly: true }).initialize();

    const ids: string[] = [];
    let published = 0;
    const publishing = (async () => {
      const pending = new Set<Promise<void>>();
      for (let i = 0; i < BURST; i++) {
        const e: AuditEvent = {
          id: randomUUID(),
          type: AuditTypes.ConnectRejected,
          time: new Date().toISOString(),
          account: 'acme',
          actor: { kind: 'device', id: `dev-${i}` },
          outcome: 'rejected',
          reason: 'CHAIN_UNTRUSTED',
          device: { clientId: `dev-${i}` },
          source: 'burst',
        };
        ids.push(e.id);
        const p = bus.publishEvent(auditSubject(e.type), e).then(() => void published++);
        pending.add(p);
        void p.finally(() => pending.delete(p));
        if (pending.size >= IN_FLIGHT) await Promise.race(pending);
      }
      await Promise.all(pending);
    })();

    // kill -9 once the service is visibly mid-burst: some stored, more still coming
    await waitFor(async () => (await counts()).n >= 1500, { timeoutMs: 30_000, what: 'part of the burst stored' });
    await first.kill9();
    const atKill = await counts();
    assert.ok(atKill.n < BURST, `killed before the end (${atKill.n} stored)`);
    t.diagnostic(`killed with ${atKill.n} of ${BURST} stored, ${published} published`);

    await publishing;
    assert.equal(published, BURST);
    const second = spawnAudit();
    await ready(second);
    await waitFor(async () => (await counts()).n >= BURST, { timeoutMs: 45_000, everyMs: 200, what: `${BURST} events stored` });
    // nothing pending or unacknowledged is left that could add a second copy later
    const jsm = await bus.jsm();
    await waitFor(async () => {
      const c = await jsm.consumers.info('TWOWAY_AUDIT', 'audit-store');
      return c.num_pending === 0 && c.num_ack_pending === 0;
    }, { what: 'consumer caught up' });
    const final = await counts();
    assert.deepEqual(final, { n: BURST, d: BURST });
    const storedIds = new Set(((await db.query('SELECT id FROM audit_events')) as { id: string }[]).map((r) => r.id));
    assert.ok(ids.every((id) => storedIds.has(id)), 'every published id is stored');
    await second.stop();
    assert.equal(second.exitCode, 0, 'SIGTERM stops the service cleanly');
  });

  it('lets a downstream durable consumer started afterwards replay from the beginning', { timeout: 60_000 }, async () => {
    const p = OwnedProcess.spawn('example-consumer', process.execPath, ['--import', 'tsx', 'examples/audit-consumer/consumer.ts', '--nats', nats.url, '--durable', 'siem', '--from-start', '--limit', String(BURST)], { cwd: root, env: { PATH: process.env.PATH } });
    procs.push(p);
    // OwnedProcess keeps only the tail of the output; collect all of stdout here.
    let out = '';
    p.child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await p.waitExit();
    assert.equal(code, 0, p.log.slice(-2000));
    const lines = out.split('\n').filter((l) => l.startsWith('{'));
    const events = lines.map((l) => JSON.parse(l) as AuditEvent);
    assert.equal(events.length, BURST);
    assert.equal(new Set(events.map((e) => e.id)).size, BURST);
    assert.ok(events.every((e) => e.type === AuditTypes.ConnectRejected && e.reason === 'CHAIN_UNTRUSTED'));
  });
});
