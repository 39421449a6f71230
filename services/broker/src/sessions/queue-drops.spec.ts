import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { AuditEvent } from '@twoway/contracts';
import type { AuditQueue } from '../audit/audit-queue.js';
import { BrokerMetrics } from '../http/metrics.js';
import { QueueDropReporter } from './queue-drops.js';

describe('QueueDropReporter', () => {
  const setup = () => {
    const events: AuditEvent[] = [];
    const metrics = new BrokerMetrics();
    const r = new QueueDropReporter({
      audit: { push: (e: AuditEvent) => events.push(e) } as unknown as AuditQueue,
      metrics,
      log: pino({ level: 'silent' }),
      source: 'broker-x',
      ancestryOf: (a) => (a === 'acc-1' ? ['acc-1', 'provider'] : undefined),
      flushMs: 3_600_000,
    });
    return { events, metrics, r };
  };

  it('given drops for one session and reason within a window, then one audit event with their count, and the metric at once', () => {
    const { events, metrics, r } = setup();
    r.report({ clientId: 'acc-1/sensor-17', reason: 'QUEUE_FULL', count: 1 });
    r.report({ clientId: 'acc-1/sensor-17', reason: 'QUEUE_FULL', count: 2 });
    r.report({ clientId: 'acc-1/sensor-17', reason: 'EXPIRED', count: 4 });
    assert.equal(metrics.queueDropped.get({ reason: 'QUEUE_FULL' }), 3);
    assert.equal(events.length, 0, 'audited before the window ends');
    r.stop();
    assert.deepEqual(
      events.map((e) => [e.type, e.account, e.accountPath, e.device?.clientId, e.reason, e.detail?.count, e.source]),
      [
        ['session.messages_dropped', 'acc-1', ['acc-1', 'provider'], 'sensor-17', 'QUEUE_FULL', 3, 'broker-x'],
        ['session.messages_dropped', 'acc-1', ['acc-1', 'provider'], 'sensor-17', 'EXPIRED', 4, 'broker-x'],
      ],
    );
  });

  it('given nothing dropped since the last flush, then no event', () => {
    const { events, r } = setup();
    r.report({ clientId: 'acc-2/dev', reason: 'QUEUE_BYTES', count: 1 });
    r.flush();
    r.flush();
    r.stop();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.accountPath, undefined, 'an ancestry this replica does not know is not made up');
  });
});
