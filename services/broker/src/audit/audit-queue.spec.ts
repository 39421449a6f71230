// The audit queue: in order, retried while NATS is away, bounded with drop-oldest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { waitFor } from '@twoway/testing';
import type { AuditEvent } from '@twoway/contracts';
import { AUDIT_PUBLISH_WINDOW, AuditQueue } from './audit-queue.js';

const log = pino({ level: 'silent' });
const ev = (id: string): AuditEvent => ({ id, type: 'connect.rejected', time: new Date(0).toISOString(), account: null, actor: { kind: 'device', id: 'c' }, source: 'b' });

function publisher() {
  const p = {
    connected: true,
    failNext: 0,
    failIds: new Set<string>(),
    published: [] as string[],
    inFlight: 0,
    maxInFlight: 0,
    async publishEvent(subject: string, e: { id: string }) {
      p.inFlight += 1;
      p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
      // A publish answers on a later turn of the event loop, as a JetStream ack does: the publishes
      // of a window are in flight together.
      await new Promise((r) => setImmediate(r));
      p.inFlight -= 1;
      if (p.failNext > 0 || p.failIds.delete(e.id)) {
        if (p.failNext > 0) p.failNext -= 1;
        throw new Error('no ack');
      }
      p.published.push(`${subject}#${e.id}`);
    },
  };
  return p;
}

describe('AuditQueue', () => {
  it('publishes in order on the audit subject of each event type', async () => {
    const p = publisher();
    const q = new AuditQueue(p, 10, log, () => undefined);
    q.push(ev('1'));
    q.push(ev('2'));
    await waitFor(() => p.published.length === 2);
    assert.deepEqual(p.published, ['twoway.v1.audit.connect.rejected#1', 'twoway.v1.audit.connect.rejected#2']);
    q.stop();
  });

  it('retries a failed publish without losing or reordering', async () => {
    const p = publisher();
    p.failNext = 2;
    const q = new AuditQueue(p, 10, log, () => undefined);
    q.push(ev('1'));
    q.push(ev('2'));
    await waitFor(() => p.published.length === 2, { timeoutMs: 5000 });
    assert.deepEqual(p.published.map((s) => s.split('#')[1]), ['1', '2']);
    q.stop();
  });

  it('publishes a burst a window at a time, in order, never more than the window in flight', async () => {
    const p = publisher();
    const q = new AuditQueue(p, 1000, log, () => undefined);
    const ids = Array.from({ length: AUDIT_PUBLISH_WINDOW * 2 + 5 }, (_, i) => String(i));
    for (const id of ids) q.push(ev(id));
    await waitFor(() => p.published.length === ids.length);
    assert.deepEqual(p.published.map((s) => s.split('#')[1]), ids);
    assert.equal(p.maxInFlight, AUDIT_PUBLISH_WINDOW);
    assert.equal(q.length, 0);
    q.stop();
  });

  it('retries only the failed publish of a window: nothing lost, nothing published twice', async () => {
    const p = publisher();
    p.failIds.add('2');
    const q = new AuditQueue(p, 10, log, () => undefined);
    for (const id of ['1', '2', '3']) q.push(ev(id));
    await waitFor(() => p.published.length === 3, { timeoutMs: 5000 });
    assert.deepEqual(p.published.map((s) => s.split('#')[1]).sort(), ['1', '2', '3']);
    assert.equal(p.published.at(-1)!.split('#')[1], '2', 'the failed one comes after the others of its window');
    q.stop();
  });

  it('holdFor: publishes nothing during the hold, then everything held, in order; flush() at stop does not wait for it', async () => {
    const p = publisher();
    const q = new AuditQueue(p, 100, log, () => undefined);
    // A hold far longer than the test: "nothing during the hold" needs no guess at timing.
    q.holdFor(60_000);
    q.push(ev('1'));
    q.push(ev('2'));
    await new Promise((r) => setImmediate(r)); // a publish a push started would have answered by now
    assert.deepEqual([p.maxInFlight, p.published], [0, []], 'held');
    q.holdFor(50); // a new hold replaces the current one
    await waitFor(() => p.published.length === 2, { timeoutMs: 2000 });
    assert.deepEqual(p.published.map((s) => s.split('#')[1]), ['1', '2']);
    q.holdFor(60_000);
    q.push(ev('3'));
    const flushStarted = Date.now();
    await q.flush(1_000);
    assert.ok(Date.now() - flushStarted < 500, 'flush released the hold');
    assert.deepEqual(p.published.map((s) => s.split('#')[1]), ['1', '2', '3']);
    q.stop();
  });

  it('holds events while disconnected and drops the oldest when full, counting each drop', async () => {
    const p = publisher();
    p.connected = false;
    let dropped = 0;
    const q = new AuditQueue(p, 2, log, () => (dropped += 1));
    q.push(ev('1'));
    q.push(ev('2'));
    q.push(ev('3'));
    assert.equal(dropped, 1);
    assert.equal(q.length, 2);
    p.connected = true;
    q.resume();
    await waitFor(() => p.published.length === 2);
    assert.deepEqual(p.published.map((s) => s.split('#')[1]), ['2', '3']);
    q.stop();
  });
});
