// The audit-store consumer against a real nats-server and a store that fails on demand: a database
// outage loses nothing (nak, readiness false, stored once when it returns) and a message the store
// keeps refusing is terminated instead of blocking the stream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { auditSubject, type AuditEvent } from '@twoway/contracts';
import { Bus } from '@twoway/nats';
import { createLogger } from '@twoway/telemetry';
import { NatsServer, waitFor } from '@twoway/testing';
import type { AuditRow } from '../domain/audit-row.js';
import { MAX_ATTEMPTS_WHILE_DB_UP } from '../domain/delivery.js';
import { StoreConsumer, type EventStore } from './store-consumer.js';

class FlakyStore implements EventStore {
  down = false;
  refuse = new Set<string>();
  rows = new Map<string, AuditRow>();
  attempts = new Map<string, number>();
  async store(rows: AuditRow[]): Promise<void> {
    for (const r of rows) this.attempts.set(r.id, (this.attempts.get(r.id) ?? 0) + 1);
    if (this.down) throw new Error('connection refused');
    if (rows.some((r) => this.refuse.has(r.id))) throw new Error('value too long');
    for (const r of rows) if (!this.rows.has(r.id)) this.rows.set(r.id, r);
  }
  async ping(): Promise<boolean> {
    return !this.down;
  }
}

const ev = (): AuditEvent => ({ id: randomUUID(), type: 'connect.accepted', time: new Date().toISOString(), account: 'acme', actor: { kind: 'device', id: 'd' }, source: 'test' });

describe('audit-store consumer', () => {
  let nats: NatsServer;
  let bus: Bus;
  let consumer: StoreConsumer;
  const store = new FlakyStore();
  const dbStates: boolean[] = [];
  const publish = async (events: AuditEvent[]) => {
    for (const e of events) await bus.publishEvent(auditSubject(e.type), e);
  };
  const ackPending = async () => (await (await bus.jsm()).consumers.info('TWOWAY_AUDIT', 'audit-store')).num_ack_pending;

  before(async () => {
    nats = await NatsServer.start();
    bus = await Bus.connect({ servers: nats.url, name: 'consumer-test' });
    await bus.ensureStreams();
    consumer = StoreConsumer.start({
      bus,
      repo: store,
      log: createLogger('audit-test', 'silent'),
      batchSize: 50,
      ackWaitMs: 5000,
      onDbState: (up) => dbStates.push(up),
      retryDelayMs: () => 100,
    });
  });
  after(async () => {
    await consumer?.stop();
    await bus?.stop();
    await nats?.stop();
  });

  it('naks while the database is down and stores everything once when it is back', async () => {
    store.down = true;
    const events = Array.from({ length: 120 }, ev);
    await publish(events);
    await waitFor(() => dbStates.includes(false), { what: 'database reported down' });
    await waitFor(() => events.every((e) => (store.attempts.get(e.id) ?? 0) >= 2), { what: 'redeliveries while down' });
    assert.equal(store.rows.size, 0);
    store.down = false;
    await waitFor(() => events.every((e) => store.rows.has(e.id)), { what: 'all stored after the outage' });
    assert.equal(dbStates.at(-1), true);
    await waitFor(async () => (await ackPending()) === 0, { what: 'all acknowledged' });
  });

  it('terminates a message the store keeps refusing, without holding back the others', async () => {
    const poison = ev();
    const others = Array.from({ length: 10 }, ev);
    store.refuse.add(poison.id);
    await publish([poison, ...others]);
    await waitFor(() => others.every((e) => store.rows.has(e.id)), { what: 'the others stored' });
    await waitFor(() => (store.attempts.get(poison.id) ?? 0) >= MAX_ATTEMPTS_WHILE_DB_UP, { what: 'retries of the poison message' });
    await waitFor(async () => {
      const info = await (await bus.jsm()).consumers.info('TWOWAY_AUDIT', 'audit-store');
      return info.num_ack_pending === 0 && info.num_pending === 0 && info.num_redelivered === 0;
    }, { what: 'poison message terminated' });
    const tried = store.attempts.get(poison.id)!;
    // once terminated it is never delivered again: a later event is stored and the count stays put
    const marker = ev();
    await publish([marker]);
    await waitFor(() => store.rows.has(marker.id), { what: 'marker stored' });
    assert.equal(store.attempts.get(poison.id), tried);
    assert.equal(store.rows.has(poison.id), false);
    // each delivery is tried in its batch and then alone
    assert.ok(tried >= MAX_ATTEMPTS_WHILE_DB_UP && tried <= MAX_ATTEMPTS_WHILE_DB_UP * 2, `tried ${tried} times`);
    assert.ok(consumer.alive);
  });

  it('recreates its durable consumer when it is deleted under it', async () => {
    await (await bus.jsm()).consumers.delete('TWOWAY_AUDIT', 'audit-store');
    const e = ev();
    await publish([e]);
    await waitFor(() => store.rows.has(e.id), { timeoutMs: 20_000, what: 'stored through the recreated consumer' });
    await waitFor(() => consumer.alive, { what: 'consumer alive again' });
  });
});
