// Broker replicas sharing sessions through the JetStream persistence: several aedes instances, each with
// its own NatsMqEmitter and persistence, on one real nats-server, with real MQTT clients on real sockets.
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type MqttClient, type IClientOptions, type IPublishPacket, type IConnackPacket } from 'mqtt';
import { connect, type NatsConnection } from 'nats';
import { NatsServer, waitFor } from '@twoway/testing';
import { createNatsMqEmitter } from '../index.js';
import { createNatsPersistence, type NatsPersistence, type NatsPersistenceOptions } from './nats-persistence.js';
import type { DroppedMessages } from './outgoing-queues.js';
import { AEDES_HEARTBEAT_INTERVAL_MS, WILL_PUBLISH_BOUND_MS } from './names.js';

const silent = { info() {}, warn() {}, error() {} };

interface Replica {
  name: string;
  nc: NatsConnection;
  broker: Aedes;
  store: NatsPersistence;
  server: Server;
  sockets: Set<Socket>;
  url: string;
  errors: Error[];
}

interface Received {
  topic: string;
  payload: string;
  qos: number;
  dup: boolean;
  messageId: number | undefined;
}

/** `received`: 'message' events (QoS 2 at PUBREL); `wire`: PUBLISH packets in the order they arrived. */
type TestClient = MqttClient & { received: Received[]; wire: Received[]; connack: IConnackPacket };

describe('JetStream persistence across broker replicas', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await NatsServer.start();
  });
  after(async () => {
    await nats?.stop();
  });

  type ReplicaOptions = { prefix: string; aedes?: Partial<AedesOptions>; store?: Partial<NatsPersistenceOptions> };

  async function replica(t: TestContext, name: string, o: ReplicaOptions): Promise<Replica> {
    const nc = await connect({ servers: nats.url, name });
    t.after(() => nc.close());
    const emitter = createNatsMqEmitter({ nc, replicaId: name, log: silent, subject: `${o.prefix}.published` });
    await emitter.ready();
    const store = await createNatsPersistence({ nc, replicaId: name, log: silent, prefix: o.prefix, ...o.store });
    t.after(() => store.stop());
    const broker = await Aedes.createBroker({ ...o.aedes, id: `${name}-aedes`, mq: emitter, persistence: store.persistence as unknown as AedesOptions['persistence'] });
    const errors: Error[] = [];
    // aedes emits 'error' (not in its typings) when looking for wills fails.
    (broker as unknown as NodeJS.EventEmitter).on('error', (e: Error) => errors.push(e));
    t.after(() => new Promise<void>((resolve) => broker.close(() => resolve())));
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      broker.handle(s);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { name, nc, broker, store, server, sockets, errors, url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  /** A client whose messages are recorded from the first packet after CONNACK. */
  async function client(t: TestContext, r: Replica, clientId: string, opts: Partial<IClientOptions> & { withholdPuback?: boolean } = {}): Promise<TestClient> {
    const { withholdPuback, ...options } = opts;
    const c = mqtt.connect(r.url, { clientId, reconnectPeriod: 0, protocolVersion: 4, clean: false, ...options }) as TestClient;
    if (withholdPuback) {
      // A device that receives and never acknowledges: its PUBACKs are swallowed on the way out.
      const raw = c as unknown as { _sendPacket(p: { cmd: string }, cb?: () => void, ...rest: unknown[]): void };
      const send = raw._sendPacket.bind(c);
      raw._sendPacket = (p, cb, ...rest) => (p.cmd === 'puback' ? cb?.() : send(p, cb, ...rest));
    }
    t.after(() => c.endAsync(true));
    c.received = [];
    c.wire = [];
    c.on('packetreceive', (p) => {
      if (p.cmd === 'publish') c.wire.push({ topic: p.topic, payload: Buffer.from(p.payload).toString(), qos: p.qos, dup: p.dup, messageId: p.messageId });
    });
    c.on('message', (topic: string, payload: Buffer, p: IPublishPacket) =>
      c.received.push({ topic, payload: payload.toString(), qos: p.qos, dup: p.dup, messageId: p.messageId }),
    );
    c.connack = await new Promise<IConnackPacket>((resolve, reject) => {
      c.once('connect', resolve);
      c.once('error', reject);
    });
    return c;
  }

  const prefix = () => `cl_${randomUUID().slice(0, 8)}`;
  const texts = (c: { received: Received[] }) => c.received.map((m) => `${m.topic}=${m.payload}@${m.qos}`);

  it('restores a session subscribed on A on B: subscriptions without re-subscribing, QoS 1 and 2 queued while away', async (t) => {
    const p = prefix();
    const a = await replica(t, 'a', { prefix: p });
    const b = await replica(t, 'b', { prefix: p });
    const id = 'acct-1/device-1';
    const first = await client(t, a, id);
    assert.equal(first.connack.sessionPresent, false);
    await first.subscribeAsync({ 'acct-1/cmd/+': { qos: 2 }, 'acct-1/ota': { qos: 1 } });
    await first.endAsync();
    // Other replicas learn a subscription from the bucket, a moment after SUBACK.
    await b.store.sync();

    const publisher = await client(t, b, 'acct-1/publisher', { clean: true });
    await publisher.publishAsync('acct-1/cmd/reboot', 'one', { qos: 1 });
    await publisher.publishAsync('acct-1/cmd/reboot', 'two', { qos: 2 });
    await publisher.publishAsync('acct-1/ota', 'three', { qos: 1 });
    await publisher.publishAsync('acct-1/cmd/x', 'at most once', { qos: 0 });

    const again = await client(t, b, id);
    assert.equal(again.connack.sessionPresent, true, '[MQTT-3.2.2-2] session present on the other replica');
    await waitFor(() => again.received.length >= 3, { what: 'the queued messages' });
    assert.deepEqual(texts({ received: again.wire }), ['acct-1/cmd/reboot=one@1', 'acct-1/cmd/reboot=two@2', 'acct-1/ota=three@1'], 'in publish order');

    // The restored subscriptions are live on B (no SUBSCRIBE sent), also for what is published on A.
    const onA = await client(t, a, 'acct-1/publisher-a', { clean: true });
    await onA.publishAsync('acct-1/cmd/live', 'four', { qos: 1 });
    await waitFor(() => again.received.length >= 4, { what: 'a live message after the restore' });
    assert.deepEqual(texts(again).slice(3), ['acct-1/cmd/live=four@1']);

    // Everything was acknowledged: nothing comes back on the next reconnect, wherever it lands.
    await waitFor(async () => (await queued(a.store, id)).length === 0, { what: 'the queue to empty' });
    assert.deepEqual([a, b].flatMap((r) => r.errors), []);
    assert.equal(a.store.stats.untrackedUpdates + b.store.stats.untrackedUpdates, 0);
  });

  it('keeps a session through a rolling restart: the replica started afterwards queues for it and restores it', async (t) => {
    const p = prefix();
    const a = await replica(t, 'a', { prefix: p });
    const first = await client(t, a, 'acct-1/roller');
    await first.subscribeAsync('acct-1/roll', { qos: 1 });
    await first.endAsync();
    // The pod is replaced: stopped cleanly, started again under the same name.
    await new Promise<void>((resolve) => a.broker.close(() => resolve()));
    await a.store.stop();
    const restarted = await replica(t, 'a', { prefix: p });
    const publisher = await client(t, restarted, 'acct-1/roll-pub', { clean: true });
    await publisher.publishAsync('acct-1/roll', 'after the restart', { qos: 1 });
    const back = await client(t, restarted, 'acct-1/roller');
    assert.equal(back.connack.sessionPresent, true);
    await waitFor(() => back.received.length >= 1, { what: 'the message queued after the restart' });
    // QoS 1 is at least once: a second copy is allowed (and was seen once on a loaded machine), a loss is not.
    assert.deepEqual([...new Set(texts(back))], ['acct-1/roll=after the restart@1']);
  });

  it('delivers live QoS 1 messages to a persistent session in publish order', async (t) => {
    const p = prefix();
    const a = await replica(t, 'a', { prefix: p });
    const b = await replica(t, 'b', { prefix: p });
    const sub = await client(t, a, 'acct-1/ordered');
    await sub.subscribeAsync('acct-1/seq', { qos: 2 });
    await b.store.sync();
    const publisher = await client(t, b, 'acct-1/seq-pub', { clean: true });
    const n = 60;
    await Promise.all(Array.from({ length: n }, (_, i) => publisher.publishAsync('acct-1/seq', String(i), { qos: 1 })));
    await waitFor(() => sub.wire.length >= n, { what: `${n} messages` });
    assert.deepEqual(sub.wire.map((m) => Number(m.payload)), Array.from({ length: n }, (_, i) => i));
  });

  it('redelivers an unacknowledged QoS 1 message on another replica with DUP and its messageId [MQTT-4.4.0-1]', async (t) => {
    const p = prefix();
    const a = await replica(t, 'a', { prefix: p });
    const b = await replica(t, 'b', { prefix: p });
    const id = 'acct-1/slow';
    const slow = await client(t, a, id, { withholdPuback: true });
    const unacked = slow.received;
    await slow.subscribeAsync('acct-1/inflight/#', { qos: 1 });
    await b.store.sync();
    const publisher = await client(t, b, 'acct-1/pub', { clean: true });
    await publisher.publishAsync('acct-1/inflight/1', 'm1', { qos: 1 });
    await publisher.publishAsync('acct-1/inflight/2', 'm2', { qos: 1 });
    await waitFor(() => unacked.length === 2, { what: 'two unacknowledged deliveries on A' });
    assert.deepEqual(unacked.map((x) => x.dup), [false, false]);
    // The messageIds are durable once aedes wrote them: wait for the state records before cutting the line.
    await waitFor(async () => (await queued(b.store, id)).every((q) => q.messageId !== undefined), { what: 'the messageIds to be stored' });
    slow.stream.destroy();
    await waitFor(() => a.broker.connectedClients === 1, { what: 'A to see the connection gone' });

    const back = await client(t, b, id);
    assert.equal(back.connack.sessionPresent, true);
    await waitFor(() => back.received.length >= 2, { what: 'the redelivery on B' });
    assert.deepEqual(
      back.received.map((m) => [m.topic, m.payload, m.dup, m.messageId]),
      unacked.map((u) => [u.topic, u.payload, true, u.messageId]),
    );
    await waitFor(async () => (await queued(b.store, id)).length === 0, { what: 'the acknowledged queue to empty' });
  });

  it('resumes an outgoing QoS 2 exchange at PUBREL on another replica', async (t) => {
    const p = prefix();
    const a = await replica(t, 'a', { prefix: p });
    const b = await replica(t, 'b', { prefix: p });
    const id = 'acct-1/q2';
    const first = await client(t, a, id);
    await first.subscribeAsync('acct-1/q2/#', { qos: 2 });
    await b.store.sync();
    // The client answers PUBREC but the line is cut before PUBCOMP: the broker owes a PUBREL.
    let pubrels = 0;
    (first as unknown as { on(e: 'packetreceive', f: (p: { cmd: string }) => void): void }).on('packetreceive', (pk) => {
      if (pk.cmd === 'pubrel' && pubrels++ === 0) first.stream.destroy();
    });
    const publisher = await client(t, b, 'acct-1/pub2', { clean: true });
    await publisher.publishAsync('acct-1/q2/x', 'exactly once', { qos: 2 });
    await waitFor(async () => (await queued(b.store, id)).some((q) => q.cmd === 'pubrel'), { what: 'the PUBREL state' });

    const back = await client(t, b, id);
    const seen: string[] = [];
    (back as unknown as { on(e: 'packetreceive', f: (p: { cmd: string }) => void): void }).on('packetreceive', (pk) => seen.push(pk.cmd));
    await waitFor(async () => (await queued(b.store, id)).length === 0, { what: 'PUBCOMP to clear the queue' });
    assert.deepEqual(seen, ['pubrel'], 'PUBREL again, not the message a second time');
    assert.deepEqual(back.received, []);
  });

  it('shares retained messages: set on A, seen on B, cleared on B, gone on A', async (t) => {
    const p = prefix();
    const a = await replica(t, 'a', { prefix: p });
    const b = await replica(t, 'b', { prefix: p });
    const pub = await client(t, a, 'acct-1/r', { clean: true });
    await pub.publishAsync('acct-1/state', 'on', { qos: 1, retain: true });
    // B reads retained messages from its own mirror, which follows the bucket a moment after A's write.
    await b.store.sync();
    const onB = await client(t, b, 'acct-1/rb', { clean: true });
    await onB.subscribeAsync('acct-1/state', { qos: 1 });
    await waitFor(() => onB.received.length === 1, { what: 'the retained message on B' });
    await onB.publishAsync('acct-1/state', '', { qos: 1, retain: true });
    await a.store.sync();
    const late = await client(t, a, 'acct-1/ra', { clean: true });
    await late.subscribeAsync('acct-1/#', { qos: 1 });
    await late.publishAsync('acct-1/sentinel', 'x', { qos: 1 });
    await waitFor(() => late.received.some((m) => m.topic === 'acct-1/sentinel'), { what: 'the sentinel' });
    assert.deepEqual(texts(late), ['acct-1/sentinel=x@1']);
  });

  it('bounds each queue: the newest packets of a full session are refused and reported, other sessions still get them', async (t) => {
    const p = prefix();
    const drops: DroppedMessages[] = [];
    const limits = { queueMaxMessages: 3, queueMaxBytes: 4096 };
    const a = await replica(t, 'a', { prefix: p, store: { limits } });
    const b = await replica(t, 'b', { prefix: p, store: { limits, onDropped: (d) => drops.push(d) } });
    const full = await client(t, a, 'acct-1/full');
    await full.subscribeAsync('acct-1/bulk', { qos: 1 });
    await full.endAsync();
    await b.store.sync();
    const publisher = await client(t, b, 'acct-1/bulk-pub', { clean: true });
    for (const n of [1, 2, 3]) await publisher.publishAsync('acct-1/bulk', `m${n}`, { qos: 1 });
    const roomy = await client(t, a, 'acct-1/roomy');
    await roomy.subscribeAsync('acct-1/bulk', { qos: 1 });
    await roomy.endAsync();
    await b.store.sync();
    for (const n of [4, 5]) await publisher.publishAsync('acct-1/bulk', `m${n}`, { qos: 1 });
    await publisher.publishAsync('acct-1/bulk', Buffer.alloc(5000, 1), { qos: 1 });
    // PUBACK of QoS 1 precedes the enqueue in aedes: wait for the reports.
    await waitFor(() => drops.length >= 4, { what: 'four drop reports' });

    assert.deepEqual(sortDrops(drops), sortDrops([
      { clientId: 'acct-1/full', reason: 'QUEUE_FULL', count: 1 },
      { clientId: 'acct-1/full', reason: 'QUEUE_FULL', count: 1 },
      { clientId: 'acct-1/full', reason: 'QUEUE_BYTES', count: 1 },
      { clientId: 'acct-1/roomy', reason: 'QUEUE_BYTES', count: 1 },
    ]));
    assert.deepEqual(b.store.stats.dropped, { QUEUE_FULL: 2, QUEUE_BYTES: 2, EXPIRED: 0 });

    const fullBack = await client(t, a, 'acct-1/full');
    const roomyBack = await client(t, b, 'acct-1/roomy');
    await waitFor(() => fullBack.received.length >= 3 && roomyBack.received.length >= 2, { what: 'both queues' });
    assert.deepEqual(fullBack.received.map((m) => m.payload), ['m1', 'm2', 'm3'], 'the oldest are kept');
    assert.deepEqual(roomyBack.received.map((m) => m.payload), ['m4', 'm5']);
  });

  it('expires queued packets and reports them', async (t) => {
    const p = prefix();
    const drops: DroppedMessages[] = [];
    const a = await replica(t, 'a', { prefix: p, store: { limits: { queueExpiryMs: 500 }, onDropped: (d) => drops.push(d) } });
    const s = await client(t, a, 'acct-1/sleepy');
    await s.subscribeAsync('acct-1/news', { qos: 1 });
    await s.endAsync();
    const publisher = await client(t, a, 'acct-1/news-pub', { clean: true });
    await publisher.publishAsync('acct-1/news', 'stale', { qos: 1 });
    await waitFor(() => drops.length > 0, { what: 'the expiry report', timeoutMs: 5000 });
    assert.deepEqual(drops, [{ clientId: 'acct-1/sleepy', reason: 'EXPIRED', count: 1 }]);
    await publisher.publishAsync('acct-1/news', 'fresh', { qos: 1 });
    const back = await client(t, a, 'acct-1/sleepy');
    await waitFor(() => back.received.length >= 1, { what: 'the fresh message' });
    assert.deepEqual(back.received.map((m) => m.payload), ['fresh']);
  });

  it(`publishes the will of a killed replica once, from one survivor, within ${WILL_PUBLISH_BOUND_MS} ms; not that of a live one`, async (t) => {
    const p = prefix();
    const o = { prefix: p, aedes: { heartbeatInterval: AEDES_HEARTBEAT_INTERVAL_MS } };
    const a = await replica(t, 'a', o);
    const b = await replica(t, 'b', o);
    const c = await replica(t, 'c', o);
    const watcher = await client(t, b, 'acct-1/watcher', { clean: true });
    await watcher.subscribeAsync('acct-1/will/#', { qos: 1 });
    await client(t, a, 'acct-1/on-a', { will: { topic: 'acct-1/will/a', payload: Buffer.from('a gone'), qos: 1, retain: false } });
    await client(t, c, 'acct-1/on-c', { will: { topic: 'acct-1/will/c', payload: Buffer.from('c gone'), qos: 1, retain: false } });

    // kill -9 of A, as far as the others can tell: its NATS connection and its sockets vanish at once.
    const killedAt = Date.now();
    await a.nc.close();
    for (const s of a.sockets) s.destroy();
    a.server.close();

    await waitFor(() => watcher.received.length > 0, { what: 'the will of A', timeoutMs: WILL_PUBLISH_BOUND_MS + 5000, everyMs: 50 });
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed <= WILL_PUBLISH_BOUND_MS, `published after ${elapsed} ms`);
    t.diagnostic(`will published ${elapsed} ms after the kill`);
    // Let both survivors look again after the publish: a second publisher would show now.
    const rounds = [b.store.stats.willRounds, c.store.stats.willRounds];
    await waitFor(() => b.store.stats.willRounds > rounds[0]! && c.store.stats.willRounds > rounds[1]!, { what: 'another will round on B and C', timeoutMs: 4 * AEDES_HEARTBEAT_INTERVAL_MS + 3000 });
    await watcher.publishAsync('acct-1/will/sentinel', 'end', { qos: 1 });
    await waitFor(() => watcher.received.some((m) => m.topic === 'acct-1/will/sentinel'), { what: 'the sentinel' });
    assert.deepEqual(texts(watcher), ['acct-1/will/a=a gone@1', 'acct-1/will/sentinel=end@1']);
    assert.equal(b.store.stats.willsClaimed + c.store.stats.willsClaimed, 1);
    assert.ok(await c.store.persistence.getWill({ id: 'acct-1/on-c' }), 'the live replica keeps its client’s will');
    assert.equal(await b.store.persistence.getWill({ id: 'acct-1/on-a' }), undefined, 'the published will is gone');
  });
});

/** The queue of `clientId` as a reconnecting client would get it (read from the stream). */
async function queued(store: NatsPersistence, clientId: string): Promise<{ cmd: string; messageId?: number }[]> {
  const out: { cmd: string; messageId?: number }[] = [];
  for await (const p of store.persistence.outgoingStream({ id: clientId })) out.push(p as { cmd: string; messageId?: number });
  return out;
}

function sortDrops(d: DroppedMessages[]): DroppedMessages[] {
  return [...d].sort((x, y) => `${x.reason}|${x.clientId}`.localeCompare(`${y.reason}|${y.clientId}`));
}
