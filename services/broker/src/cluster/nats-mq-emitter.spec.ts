// NatsMqEmitter against a NATS connection double whose delivery order the test controls: the cases a
// real server produces only under races.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Msg, NatsConnection } from 'nats';
import { createNatsMqEmitter, encodeEnvelope, TAKEOVER_PATTERN, type Message } from './index.js';

const silent = { info() {}, warn() {}, error() {} };

function fakeNats() {
  const published: Uint8Array[] = [];
  let deliver: (err: null, msg: Msg) => void = () => {};
  const nc = {
    info: { max_payload: 1024 * 1024 },
    isClosed: () => false,
    publish: (_subject: string, data: Uint8Array) => void published.push(data),
    subscribe: (_subject: string, opts: { callback: (err: null, msg: Msg) => void }) => {
      deliver = opts.callback;
      return { closed: new Promise(() => {}), isClosed: () => false, unsubscribe() {} };
    },
  };
  return { nc: nc as unknown as NatsConnection, published, receive: (data: Uint8Array) => deliver(null, { data } as Msg) };
}

const notice = (broker: string, clientId: string): Message => ({ topic: `$SYS/${broker}/new/clients`, payload: Buffer.from(clientId) });

describe('NatsMqEmitter takeover notices', () => {
  it('ignores a remote notice the server ordered before our own (the remote session is the older one)', () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    const kicked: string[] = [];
    emitter.on(TAKEOVER_PATTERN, (p, done) => {
      if (!p.topic.startsWith('$SYS/b-aedes/')) kicked.push(String(p.payload));
      done();
    });
    emitter.emit(notice('b-aedes', 'device-7'));
    assert.equal(nats.published.length, 1);
    // A's notice for the same device, ordered before our echo: A's session is older; A ends it on our notice.
    nats.receive(encodeEnvelope(notice('a-aedes', 'device-7'), 'a'));
    assert.deepEqual(kicked, []);
    // Our echo, then a newer notice from A: now the device really moved to A.
    nats.receive(nats.published[0]!);
    nats.receive(encodeEnvelope(notice('a-aedes', 'device-7'), 'a'));
    assert.deepEqual(kicked, ['device-7']);
    assert.equal(emitter.stats.staleTakeoversIgnored, 1);
  });

  it('delivers a remote notice for a client this replica did not announce', () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    const kicked: string[] = [];
    emitter.on(TAKEOVER_PATTERN, (p, done) => (kicked.push(String(p.payload)), done()));
    emitter.emit(notice('b-aedes', 'device-1'));
    nats.receive(encodeEnvelope(notice('a-aedes', 'device-2'), 'a'));
    assert.deepEqual(kicked.filter((id) => id === 'device-2'), ['device-2']);
  });
});
