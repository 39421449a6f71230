// The audit queue: in order, retried while NATS is away, bounded with drop-oldest.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { waitFor } from '@twoway/testing';
import type { AuditEvent } from '@twoway/contracts';
import { AuditQueue } from './audit-queue.js';

const log = pino({ level: 'silent' });
const ev = (id: string): AuditEvent => ({ id, type: 'connect.rejected', time: new Date(0).toISOString(), account: null, actor: { kind: 'device', id: 'c' }, source: 'b' });

function publisher() {
  const p = {
    connected: true,
    failNext: 0,
    published: [] as string[],
    async publishEvent(subject: string, e: { id: string }) {
      if (p.failNext > 0) {
        p.failNext -= 1;
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
