// Audit events through a NATS outage under `twoway up`: devices keep connecting while nats-server is
// gone, the broker spills their audit events to disk, and every one is stored exactly once when NATS
// is back, including those of a broker killed (SIGKILL) with events spilled, replayed by its successor.
//
// The outage lasts OUTAGE_TEST_SECONDS (default 10; run the full minute by hand with
// `OUTAGE_TEST_SECONDS=60 npm test -- test/e2e/audit-spill`), with at most OUTAGE_TEST_CONNECTS connects
// (default 3000), as many as fit in the window.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { System, makeTestPki, openLean, waitFor, type LeanDevice, type TestPki } from '@twoway/testing';
import { Operator, type AuditItem } from './support/operator.js';
import { httpStatus as status, natsOutage, pidOf } from './support/outage.js';

const OUTAGE_MS = Number(process.env.OUTAGE_TEST_SECONDS ?? 10) * 1000;
const MAX_CONNECTS = Number(process.env.OUTAGE_TEST_CONNECTS ?? 3000);
const CONCURRENCY = 16;

/** Every spilled line on disk, over all replicas' spill directories. */
async function spilledLines(dataDir: string): Promise<string[]> {
  const root = join(dataDir, 'audit-spill');
  const lines: string[] = [];
  for (const d of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(join(root, d)).catch(() => [] as string[])) {
      if (f.endsWith('.ndjson')) lines.push(...(await readFile(join(root, d, f), 'utf8').catch(() => '')).split('\n').filter(Boolean));
    }
  }
  return lines;
}

describe('audit events through a NATS outage', { timeout: 300_000 + 2 * OUTAGE_MS }, () => {
  let sys: System;
  let op: Operator;
  let pki: TestPki;
  let acc: string;
  let device: Omit<LeanDevice, 'clientId'>;
  const password = 'spill-password-1';

  before(async () => {
    // Decisions from warm caches for the whole outage (default bound: 10 s), so every connect is
    // attributed to the account and found by the audit query.
    sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn', TWOWAY_STALE_AFTER_MS: String(OUTAGE_MS + 120_000) } });
    op = new Operator(sys);
    pki = await makeTestPki({ fresh: true });
    acc = await op.account('spill');
    await op.credential(acc, 'spill-dev', password);
    await op.register(acc, 'root', pki.root.certPem);
    const dev = await pki.device('spill-dev');
    device = { host: '127.0.0.1', port: sys.mqttPort, servername: 'localhost', ca: await readFile(sys.caFile, 'utf8'), cert: dev.chainPem, key: dev.keyPem, username: 'spill-dev', password };
  });
  after(async () => {
    await sys?.stop();
  });

  /** `up` paused (it cannot restart anything) and nats-server killed; the returned function ends the outage. */
  async function outage(t: { after(f: () => void): void }): Promise<() => void> {
    // Warm: the broker has the trust set and the credential before NATS goes (a reconnect flushed them).
    await waitFor(
      async () => {
        const s = await openLean({ ...device, clientId: `spill-warm-${Date.now()}` });
        s.socket.destroy();
        return s.returnCode === 0;
      },
      { timeoutMs: 60_000, everyMs: 250, what: 'a warm connect' },
    );
    return natsOutage(sys, t);
  }

  /** Connect (and leave at once) with client ids `${prefix}${i}` until the window ends or `max` are done. */
  async function connectDuring(prefix: string, windowMs: number, max: number): Promise<{ answered: number; accepted: number }> {
    const until = Date.now() + windowMs;
    let next = 0;
    let answered = 0;
    let accepted = 0;
    const worker = async () => {
      while (Date.now() < until && next < max) {
        const s = await openLean({ ...device, clientId: `${prefix}${next++}` });
        answered += 1;
        if (s.returnCode === 0) accepted += 1;
        s.socket.destroy();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return { answered, accepted };
  }

  /** The connect events stored for client ids starting with `prefix`, by client id. */
  async function stored(prefix: string): Promise<Map<string, AuditItem[]>> {
    const r = await fetch(`${sys.apiUrl}/api/v1/accounts/${acc}/audit?format=ndjson`, { headers: { authorization: `Bearer ${sys.token}` } });
    assert.equal(r.status, 200);
    const byClient = new Map<string, AuditItem[]>();
    for (const line of (await r.text()).split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as AuditItem;
      const c = e.device?.clientId;
      if (!e.type.startsWith('connect.') || !c?.startsWith(prefix)) continue;
      byClient.set(c, [...(byClient.get(c) ?? []), e]);
    }
    return byClient;
  }

  async function assertStoredOnce(prefix: string, n: number): Promise<void> {
    let seen = 0;
    const byClient = await waitFor(
      async () => {
        const m = await stored(prefix);
        seen = m.size;
        return m.size >= n ? m : undefined;
      },
      { timeoutMs: 90_000, everyMs: 1_000, what: `${n} connect events stored for ${prefix}*` },
    ).catch(async (e: Error) => {
      throw new Error(`${e.message} (${seen} stored)\n${await sys.serviceLogs(40)}`);
    });
    assert.equal(byClient.size, n, 'one stored event for each connect, none for a connect that did not happen');
    const twice = [...byClient].filter(([, es]) => es.length !== 1);
    assert.deepEqual(twice.map(([c, es]) => `${c}×${es.length}`), [], 'no event stored twice');
  }

  it('NATS away while devices connect: events wait on disk and are stored exactly once when it is back', async (t) => {
    const resume = await outage(t);
    const started = Date.now();
    const r = await connectDuring('spill-a-', OUTAGE_MS, MAX_CONNECTS);
    t.diagnostic(`${r.answered} connects (${r.accepted} accepted) in ${Date.now() - started} ms of a ${OUTAGE_MS} ms outage`);
    assert.ok(r.answered > 0);
    assert.equal(r.accepted, r.answered, 'decided from warm caches, so attributed to the account');
    const onDisk = (await spilledLines(sys.dataDir)).filter((l) => l.includes('"spill-a-')).length;
    assert.equal(onDisk, r.answered, 'every event of the outage is on disk');
    // The outage lasts OUTAGE_MS whatever the connects did: its length is what is under test.
    await new Promise((res) => setTimeout(res, Math.max(0, started + OUTAGE_MS - Date.now())));
    resume();
    const back = Date.now();
    await assertStoredOnce('spill-a-', r.answered);
    t.diagnostic(`all stored ${Date.now() - back} ms after NATS was allowed back`);
    await waitFor(async () => (await spilledLines(sys.dataDir)).length === 0, { timeoutMs: 30_000, what: 'the spill emptied' });
  });

  it('a broker killed (SIGKILL) with events spilled: its successor replays them, each stored once', async (t) => {
    const resume = await outage(t);
    const r = await connectDuring('spill-b-', Math.min(OUTAGE_MS, 5_000), 300);
    assert.ok(r.answered > 0);
    assert.equal(r.accepted, r.answered, 'decided from warm caches, so attributed to the account');
    assert.equal((await spilledLines(sys.dataDir)).filter((l) => l.includes('"spill-b-')).length, r.answered);
    const brokerPid = await pidOf(sys, 'broker');
    process.kill(brokerPid, 'SIGKILL');
    resume();
    // `up` restarts nats-server and the broker; the new broker (another pid, so another id) adopts the spill.
    await waitFor(async () => (await pidOf(sys, 'broker').catch(() => brokerPid)) !== brokerPid, { timeoutMs: 30_000, what: 'a new broker' });
    await assertStoredOnce('spill-b-', r.answered);
    await waitFor(async () => (await spilledLines(sys.dataDir)).length === 0, { timeoutMs: 30_000, what: 'the spill emptied' });
  });
});
