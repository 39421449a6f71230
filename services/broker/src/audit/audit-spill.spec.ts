// The audit spill: what cannot be published waits on disk, survives a crash, is replayed once,
// and is bounded in bytes with an audited drop.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { tempDir, waitFor } from '@twoway/testing';
import type { AuditEvent } from '@twoway/contracts';
import { AuditSpill } from './audit-spill.js';
import { AuditQueue } from './audit-queue.js';

const log = pino({ level: 'silent' });
const ev = (id: string): AuditEvent => ({ id, type: 'connect.accepted', time: new Date(0).toISOString(), account: null, actor: { kind: 'device', id: 'c' }, source: 'b' });

async function spillIn(t: { after(f: () => Promise<void>): void }, o: { maxBytes?: number; segmentBytes?: number; ownerId?: string; dir?: string; isAlive?: (pid: number) => boolean } = {}) {
  let dir = o.dir;
  if (!dir) {
    const d = await tempDir('twoway-spill-');
    t.after(() => d[Symbol.asyncDispose]());
    dir = d.path;
  }
  const drops: number[] = [];
  const spill = await AuditSpill.open({ dir, ownerId: o.ownerId ?? 'b1', maxBytes: o.maxBytes ?? 1 << 20, segmentBytes: o.segmentBytes, log, onDrop: (n) => drops.push(n), isAlive: o.isAlive });
  t.after(() => spill.close());
  return { spill, dir, drops };
}

async function drain(spill: AuditSpill): Promise<string[]> {
  const ids: string[] = [];
  for (let seg = await spill.takeOldest(); seg; seg = await spill.takeOldest()) {
    ids.push(...seg.events.map((e) => e.id));
    seg.done();
  }
  return ids;
}

function publisher() {
  const p = {
    connected: false,
    published: [] as string[],
    async publishEvent(_subject: string, e: { id: string }) {
      if (!p.connected) throw new Error('no ack');
      p.published.push(e.id);
    },
  };
  return p;
}

describe('AuditSpill', () => {
  it('given events appended across segments, when replayed, then every one comes back once, in order', async (t) => {
    const { spill } = await spillIn(t, { segmentBytes: 1024 });
    const ids = Array.from({ length: 50 }, (_, i) => `e${i}`);
    ids.forEach((id) => spill.append(ev(id)));
    assert.equal(spill.events, 50);
    assert.ok((await readdir(spill.path)).filter((n) => n.endsWith('.ndjson')).length > 1, 'rolled into several segments');
    assert.deepEqual(await drain(spill), ids);
    assert.equal(spill.events, 0);
    assert.equal(spill.bytes, 0);
  });

  it('given a broker that died with events spilled (a line cut short), when another starts on this host, then it adopts and replays them', async (t) => {
    const d = await tempDir('twoway-spill-');
    t.after(() => d[Symbol.asyncDispose]());
    const dead = join(d.path, 'host-4242');
    await mkdir(dead);
    await writeFile(join(dead, 'owner.json'), JSON.stringify({ host: hostname(), pid: 4242 }));
    await writeFile(join(dead, 'segment-000000000001.ndjson'), [ev('a'), ev('b')].map((e) => JSON.stringify(e) + '\n').join(''));
    await appendFile(join(dead, 'segment-000000000001.ndjson'), JSON.stringify(ev('c')).slice(0, 20));
    // A live replica's directory is not touched.
    const live = join(d.path, 'host-4343');
    await mkdir(live);
    await writeFile(join(live, 'owner.json'), JSON.stringify({ host: hostname(), pid: 4343 }));
    await writeFile(join(live, 'segment-000000000001.ndjson'), JSON.stringify(ev('z')) + '\n');

    const { spill } = await spillIn(t, { dir: d.path, ownerId: 'host-5000', isAlive: (pid) => pid === 4343 });
    assert.equal(spill.events, 2);
    assert.deepEqual(await drain(spill), ['a', 'b']);
    assert.deepEqual((await readdir(d.path)).sort(), ['host-4343', 'host-5000']);
  });

  it('given the byte bound reached, when more is appended, then the oldest segment goes, counted, and an audit.events_dropped event takes its place', async (t) => {
    const one = Buffer.byteLength(JSON.stringify(ev('e000')) + '\n');
    const { spill, drops } = await spillIn(t, { maxBytes: one * 40, segmentBytes: one * 10 });
    for (let i = 0; i < 100; i++) spill.append(ev(`e${String(i).padStart(3, '0')}`));
    assert.ok(spill.bytes <= one * 40, `${spill.bytes} bytes on disk`);
    const dropped = drops.reduce((a, b) => a + b, 0);
    assert.ok(dropped > 0);
    const events: AuditEvent[] = [];
    for (let seg = await spill.takeOldest(); seg; seg = await spill.takeOldest()) {
      events.push(...seg.events);
      seg.done();
    }
    const reports = events.filter((e) => e.type === 'audit.events_dropped');
    assert.equal(reports.reduce((n, e) => n + (e.detail!.dropped as number), 0), dropped, 'every drop is reported');
    const kept = events.filter((e) => e.type !== 'audit.events_dropped').map((e) => e.id);
    assert.equal(kept.length + dropped, 100, 'each event is either kept or counted as dropped');
    assert.equal(kept.at(-1), 'e099', 'the newest are kept');
  });

  it('given a queue with a spill, when NATS is away, then events go to disk; when it is back, each is published once', async (t) => {
    const { spill } = await spillIn(t, { segmentBytes: 2048 });
    const p = publisher();
    const q = new AuditQueue(p, 10, log, () => assert.fail('nothing is dropped'), spill);
    t.after(() => q.stop());
    const ids = Array.from({ length: 300 }, (_, i) => `e${i}`);
    ids.forEach((id) => q.push(ev(id)));
    assert.equal(spill.events, 300, 'on disk while NATS is away');
    assert.equal(q.length, 300);
    p.connected = true;
    q.resume();
    await waitFor(() => p.published.length === 300 && spill.events === 0, { timeoutMs: 10_000, what: 'the spill replayed' });
    assert.deepEqual(p.published, ids);
  });

  it('given events spilled and the broker gone, when a new queue starts on the same spill, then it replays them at start', async (t) => {
    const d = await tempDir('twoway-spill-');
    t.after(() => d[Symbol.asyncDispose]());
    const first = await AuditSpill.open({ dir: d.path, ownerId: 'b1', maxBytes: 1 << 20, log, onDrop: () => undefined });
    const q1 = new AuditQueue(publisher(), 10, log, () => undefined, first);
    ['x', 'y', 'z'].forEach((id) => q1.push(ev(id)));
    await q1.stop();
    const { spill } = await spillIn(t, { dir: d.path, ownerId: 'b1' });
    const p = publisher();
    p.connected = true;
    const q2 = new AuditQueue(p, 10, log, () => undefined, spill);
    t.after(() => q2.stop());
    await waitFor(() => p.published.length === 3, { what: 'the replay at start' });
    assert.deepEqual(p.published, ['x', 'y', 'z']);
  });

  it('given two replicas in one process on one data dir, when the second opens its spill, then it leaves the first one\'s directory alone', async (t) => {
    const { spill: first, dir } = await spillIn(t, { ownerId: 'broker-a' });
    first.append(ev('a1'));
    const { spill: second } = await spillIn(t, { dir, ownerId: 'broker-b' });
    assert.equal(second.events, 0, 'nothing adopted from a live replica of this process');
    first.append(ev('a2'));
    assert.deepEqual(await drain(first), ['a1', 'a2']);
  });

  it('given the spill directory removed under a running replica, when an event is appended, then the directory is made again and nothing is lost', async (t) => {
    const { spill } = await spillIn(t, { segmentBytes: 1024 });
    spill.append(ev('before'));
    await drain(spill);
    await rm(spill.path, { recursive: true, force: true });
    spill.append(ev('after'));
    assert.deepEqual(await drain(spill), ['after']);
  });

  it('given a spill that cannot write, when an event is pushed while NATS is away, then the push does not throw and the event waits in memory', async (t) => {
    const { spill } = await spillIn(t);
    const p = publisher();
    const q = new AuditQueue(p, 10, log, () => assert.fail('nothing is dropped'), spill);
    t.after(() => q.stop());
    t.mock.method(spill, 'append', () => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    });
    assert.doesNotThrow(() => q.push(ev('kept')));
    assert.ok(q.spillFailures >= 1, 'the refused write is counted');
    p.connected = true;
    q.resume();
    await waitFor(() => p.published.length === 1, { what: 'the event published from memory' });
    assert.deepEqual(p.published, ['kept']);
  });
});
