// Several persistence instances (replicas) on one nats-server, driven the way aedes drives them.
import { describe, it, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { NatsServer, waitFor } from '@twoway/testing';
import { createNatsPersistence, type NatsPersistence, type NatsPersistenceOptions } from './nats-persistence.js';
import { Packet } from './outgoing-queues.js';

const silent = { info() {}, warn() {}, error() {} };

describe('JetStream persistence between replicas', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await NatsServer.start();
  });
  after(async () => {
    await nats?.stop();
  });

  async function replica(t: TestContext, prefix: string, brokerId: string, opts: Partial<NatsPersistenceOptions> = {}): Promise<NatsPersistence & { nc: NatsConnection }> {
    const nc = await connect({ servers: nats.url, name: brokerId });
    t.after(() => nc.close());
    const store = await createNatsPersistence({ nc, replicaId: brokerId, log: silent, prefix, ...opts });
    t.after(() => store.stop());
    await store.persistence.setup({ id: brokerId });
    return Object.assign(store, { nc });
  }

  const prefix = () => `rp_${randomUUID().slice(0, 8)}`;
  const list = async (s: NatsPersistence, client: object) => {
    const out: Record<string, unknown>[] = [];
    for await (const p of s.persistence.outgoingStream(client as { id: string })) out.push(p as Record<string, unknown>);
    return out;
  };

  it('updates a packet the moment another replica enqueued it: the live copy may overtake any replication', async (t) => {
    const p = prefix();
    const publisherSide = await replica(t, p, 'b1');
    const subscriberSide = await replica(t, p, 'b2');
    // Any UTF-8, including what NATS subjects reserve.
    const clientId = 'acct-ä/dev.*>/1';
    const connection = { id: clientId, clean: false };
    const n = 40;
    const packets = Array.from({ length: n }, (_, i) => ({ cmd: 'publish', topic: 'acct-ä/t', payload: Buffer.from(`m${i}`), qos: 1, retain: false, brokerId: 'b1', brokerCounter: i + 1 }));
    // As aedes: enqueue on the publishing replica resolves, then the live packet reaches the subscriber's replica.
    await Promise.all(
      packets.map(async (pk, i) => {
        await publisherSide.persistence.outgoingEnqueueCombi([{ clientId }], pk);
        const live = new Packet(pk);
        live.messageId = i + 1;
        await subscriberSide.persistence.outgoingUpdate(connection, live as never);
      }),
    );
    assert.equal(subscriberSide.stats.untrackedUpdates, 0, 'every update found its packet');

    // A new connection, on the publishing replica: all of them, in order, with their messageId and DUP.
    const queue = await list(publisherSide, { id: clientId, clean: false });
    assert.deepEqual(queue.map((q) => [q.messageId, q.dup, Buffer.from(q.payload as Buffer).toString()]), packets.map((_, i) => [i + 1, true, `m${i}`]));
    // PUBACKs on the subscriber's replica clear them for everyone.
    for (let i = 0; i < n; i += 2) assert.equal((await subscriberSide.persistence.outgoingClearMessageId(connection, { messageId: i + 1 }))?.messageId, i + 1);
    assert.equal((await list(publisherSide, { id: clientId })).length, n / 2);
  });

  it('resolves updates of one connection in call order (regression: an update that needed a read was overtaken)', async (t) => {
    const p = prefix();
    const elsewhere = await replica(t, p, 'b1');
    const here = await replica(t, p, 'b2');
    const clientId = 'acct/ordered';
    const m1 = { cmd: 'publish', topic: 't', payload: Buffer.from('1'), qos: 1, retain: false, brokerId: 'b1', brokerCounter: 1 };
    const m2 = { cmd: 'publish', topic: 't', payload: Buffer.from('2'), qos: 1, retain: false, brokerId: 'b2', brokerCounter: 1 };
    // m1 was queued by another replica (this one must read it), m2 by this one (known without a read).
    await elsewhere.persistence.outgoingEnqueueCombi([{ clientId }], m1);
    await here.persistence.outgoingEnqueueCombi([{ clientId }], m2);
    const connection = { id: clientId, clean: false };
    const order: number[] = [];
    await Promise.all([m1, m2].map((m, i) => here.persistence.outgoingUpdate(connection, { ...m, messageId: i + 1 }).then(() => order.push(i + 1))));
    assert.deepEqual(order, [1, 2], 'aedes writes each packet when its update resolves');
  });

  it('resolves an update for a packet that was never queued (refused by a bound): delivered live only', async (t) => {
    const p = prefix();
    const s = await replica(t, p, 'b1');
    await s.persistence.outgoingUpdate({ id: 'c' }, { cmd: 'publish', messageId: 7, brokerId: 'b9', brokerCounter: 1 });
    await s.persistence.outgoingUpdate({ id: 'c' }, { cmd: 'pubrel', messageId: 7 });
    assert.equal(s.stats.untrackedUpdates, 2);
    assert.equal(await s.persistence.outgoingClearMessageId({ id: 'c' }, { messageId: 7 }), undefined);
  });

  it('keeps an inbound QoS 2 packet for the replica the client reconnects to', async (t) => {
    const p = prefix();
    const a = await replica(t, p, 'a');
    const b = await replica(t, p, 'b');
    const client = { id: 'acct/sender' };
    await a.persistence.incomingStorePacket(client, { cmd: 'publish', topic: 'x', payload: Buffer.from('q2'), qos: 2, messageId: 42 } as never);
    const got = await b.persistence.incomingGetPacket(client, { messageId: 42 });
    assert.deepEqual([got.topic, Buffer.from(got.payload as Buffer).toString(), got.messageId], ['x', 'q2', 42]);
    await b.persistence.incomingDelPacket(client, { messageId: 42 });
    await assert.rejects(a.persistence.incomingGetPacket(client, { messageId: 42 }), { name: 'PacketNotFoundError' });
  });

  it('lets exactly one of two survivors claim the will of a dead replica, and none while it lives', async (t) => {
    const p = prefix();
    const fast = { livenessIntervalMs: 100, deadAfterMs: 600 };
    const doomed = await replica(t, p, 'doomed', fast);
    const s1 = await replica(t, p, 's1', fast);
    const s2 = await replica(t, p, 's2', fast);
    await doomed.persistence.putWill({ id: 'acct/dev' }, { topic: 'acct/will', payload: Buffer.from('bye'), qos: 1, retain: false });
    await Promise.all([s1.sync(), s2.sync()]);
    const due = async (s: NatsPersistence) => {
      const out: Record<string, unknown>[] = [];
      for await (const w of s.persistence.streamWill({ [`${s === s1 ? 's1' : 's2'}`]: Date.now() })) out.push(w as Record<string, unknown>);
      return out;
    };
    assert.deepEqual([...(await due(s1)), ...(await due(s2))], [], 'alive: nobody publishes its will');

    await doomed.nc.close(); // no more heartbeats, no clean removal
    await waitFor(async () => {
      const [x, y] = await Promise.all([due(s1), due(s2)]);
      const all = [...x, ...y];
      if (all.length > 1) throw new Error('claimed twice');
      return all.length === 1 ? all : undefined;
    }, { what: 'one claim', timeoutMs: 5000 });
    assert.equal(s1.stats.willsClaimed + s2.stats.willsClaimed, 1);
    const claimer = s1.stats.willsClaimed === 1 ? s1 : s2;
    // aedes publishes it, then deletes it with the will's own fields.
    assert.ok(await claimer.persistence.delWill({ id: 'acct/dev', brokerId: 'doomed' }));
    // The other survivor's mirror follows the bucket a moment later: read once it has caught up.
    await Promise.all([s1.sync(), s2.sync()]);
    assert.equal(await s1.persistence.getWill({ id: 'acct/dev' }), undefined);
    assert.equal(await s2.persistence.getWill({ id: 'acct/dev' }), undefined);
  });

  it('publishes the wills of a previous incarnation that had the same broker id (a pod restarted under its name)', async (t) => {
    const p = prefix();
    const fast = { livenessIntervalMs: 100, deadAfterMs: 600 };
    const before = await replica(t, p, 'pod-0', fast);
    await before.persistence.putWill({ id: 'acct/dev' }, { topic: 'acct/will', payload: Buffer.from('bye'), qos: 1, retain: false });
    await before.nc.close();
    const after = await replica(t, p, 'pod-0', fast);
    const will = await waitFor(async () => {
      for await (const w of after.persistence.streamWill({ 'pod-0': Date.now() })) return w as Record<string, unknown>;
      return undefined;
    }, { what: 'the old will', timeoutMs: 5000 });
    assert.equal(will.topic, 'acct/will');
    assert.equal(will.brokerId, undefined, 'not filtered out by aedes as a will of a live broker');
  });

  it('reports every bucket watch that ends without stop(), so readiness can follow', async (t) => {
    const ended: string[] = [];
    const s = await replica(t, prefix(), 'r', { onWatchEnded: (what) => ended.push(what) });
    await s.nc.close();
    await waitFor(() => ended.length === 4, { what: 'four watches to report' });
    assert.deepEqual(ended.sort(), ['replica heartbeat', 'retained-message', 'subscription', 'will']);
  });

  it('does not let a closing connection delete the will its client already stored on another replica', async (t) => {
    const p = prefix();
    const a = await replica(t, p, 'a');
    const b = await replica(t, p, 'b');
    await a.persistence.putWill({ id: 'acct/dev' }, { topic: 'acct/will', payload: Buffer.from('old'), qos: 1, retain: false });
    await b.persistence.putWill({ id: 'acct/dev' }, { topic: 'acct/will', payload: Buffer.from('new'), qos: 1, retain: false });
    await a.sync();
    // aedes on A, closing the taken-over connection:
    assert.equal(await a.persistence.delWill({ id: 'acct/dev', brokerId: 'a' }), undefined);
    assert.equal(Buffer.from((await b.persistence.getWill({ id: 'acct/dev' }))!.payload as Buffer).toString(), 'new');
  });
});
