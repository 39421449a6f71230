// NatsMqEmitter against a NATS connection double whose delivery order the test controls: the cases a
// real server produces only under races or losses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Msg, MsgHdrs, NatsConnection } from 'nats';
import { createNatsMqEmitter, encodeForward, forwardSubjects, TAKEOVER_PATTERN, TAKEOVER_SINCE_HEADER, type Message } from './index.js';

const silent = { info() {}, warn() {}, error() {} };
const subjects = forwardSubjects('twoway.v1.mqtt.published');

interface Sent { subject: string; data: Uint8Array; headers?: MsgHdrs; reply?: string }

function fakeNats() {
  const published: Sent[] = [];
  const callbacks = new Map<string, (err: null, msg: Msg) => void>();
  const nc = {
    info: { max_payload: 1024 * 1024 },
    isClosed: () => false,
    flush: async () => {},
    publish: (subject: string, data: Uint8Array, o?: { headers?: MsgHdrs; reply?: string }) => void published.push({ subject, data, ...o }),
    subscribe: (subject: string, opts: { callback: (err: null, msg: Msg) => void }) => {
      callbacks.set(subject, opts.callback);
      return { closed: new Promise(() => {}), isClosed: () => false, unsubscribe() {}, getSubject: () => subject };
    },
  };
  const receive = (subject: string, m: Partial<Msg>) => callbacks.get(subject)!(null, m as Msg);
  const interest = (m: object, reply?: string) => receive(subjects.interest, { data: Buffer.from(JSON.stringify(m)), ...(reply ? { reply } : {}) });
  return { nc: nc as unknown as NatsConnection, published, receive, interest, on: (s: string) => published.filter((p) => p.subject === s) };
}

const notice = (broker: string, clientId: string): Message => ({ topic: `$SYS/${broker}/new/clients`, payload: Buffer.from(clientId) });
const json = (s: Sent) => JSON.parse(Buffer.from(s.data).toString('utf8'));
const tick = () => new Promise((r) => setImmediate(r));

/** A notice as another replica sends it: with the time it accepted the session. */
function timedNotice(origin: string, clientId: string, since: number) {
  const m = encodeForward(notice(`${origin}-aedes`, clientId), origin);
  m.headers.set(TAKEOVER_SINCE_HEADER, String(since));
  return m;
}
const sinceOf = (s: Sent) => Number(s.headers!.get(TAKEOVER_SINCE_HEADER));

describe('NatsMqEmitter takeover notices', () => {
  function replicaB() {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    const kicked: string[] = [];
    emitter.on(TAKEOVER_PATTERN, (p, done) => {
      if (!p.topic.startsWith('$SYS/b-aedes/')) kicked.push(String(p.payload));
      done();
    });
    return { nats, emitter, kicked };
  }

  it('a session accepted on another replica after ours ends ours, even when its notice arrives before our echo', () => {
    const { nats, emitter, kicked } = replicaB();
    emitter.emit(notice('b-aedes', 'device-7'));
    const [ours] = nats.on(subjects.takeover);
    assert.ok(Number.isFinite(sinceOf(ours!)), 'our notice says when we accepted the session');
    // Under load the server may deliver A's later notice before our own echo (a CI run saw it).
    nats.receive(subjects.takeover, timedNotice('a', 'device-7', sinceOf(ours!) + 3));
    assert.deepEqual(kicked, ['device-7']);
    nats.receive(subjects.takeover, ours!);
    assert.equal(emitter.stats.staleTakeoversIgnored, 0);
    emitter.close();
  });

  it('a session accepted on another replica before ours is ignored, even after our echo: that replica ends its own', () => {
    const { nats, emitter, kicked } = replicaB();
    emitter.emit(notice('b-aedes', 'device-7'));
    const [ours] = nats.on(subjects.takeover);
    nats.receive(subjects.takeover, ours!);
    nats.receive(subjects.takeover, timedNotice('a', 'device-7', sinceOf(ours!) - 3));
    assert.deepEqual(kicked, []);
    assert.equal(emitter.stats.staleTakeoversIgnored, 1);
    // Accepted at the same millisecond: the larger replica id stays, so exactly one of the two ends.
    nats.receive(subjects.takeover, timedNotice('a', 'device-7', sinceOf(ours!)));
    assert.deepEqual(kicked, []);
    nats.receive(subjects.takeover, timedNotice('c', 'device-7', sinceOf(ours!)));
    assert.deepEqual(kicked, ['device-7']);
    emitter.close();
  });

  it('from a replica that sends no time: ignores a remote notice the server ordered before our own (the remote session is the older one)', () => {
    const { nats, emitter, kicked } = replicaB();
    emitter.emit(notice('b-aedes', 'device-7'));
    const ours = nats.on(subjects.takeover);
    assert.equal(ours.length, 1);
    // A's notice for the same device, ordered before our echo: A's session is older; A ends it on our notice.
    nats.receive(subjects.takeover, encodeForward(notice('a-aedes', 'device-7'), 'a'));
    assert.deepEqual(kicked, []);
    // Our echo, then a newer notice from A: now the device really moved to A.
    nats.receive(subjects.takeover, ours[0]!);
    nats.receive(subjects.takeover, encodeForward(notice('a-aedes', 'device-7'), 'a'));
    assert.deepEqual(kicked, ['device-7']);
    assert.equal(emitter.stats.staleTakeoversIgnored, 1);
    emitter.close();
  });

  it('delivers a remote notice for a client this replica did not announce', () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    const kicked: string[] = [];
    emitter.on(TAKEOVER_PATTERN, (p, done) => (kicked.push(String(p.payload)), done()));
    emitter.emit(notice('b-aedes', 'device-1'));
    nats.receive(subjects.takeover, encodeForward(notice('a-aedes', 'device-2'), 'a'));
    assert.deepEqual(kicked.filter((id) => id === 'device-2'), ['device-2']);
    emitter.close();
  });
});

describe('NatsMqEmitter interest', () => {
  it('sends nothing for a publish no other replica wants, and one message to each replica that does', async () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    emitter.emit({ topic: 'acc/t', payload: Buffer.from('x') });
    await tick();
    assert.equal(nats.published.filter((p) => p.subject.includes('.to.')).length, 0);
    assert.equal(emitter.stats.keptLocal, 1);
    nats.interest({ k: 'snap', r: 'a', i: 'ia', s: 1, filters: ['acc/#'], first: true, last: true });
    nats.interest({ k: 'snap', r: 'c', i: 'ic', s: 1, filters: ['other/#'], first: true, last: true });
    emitter.emit({ topic: 'acc/t', payload: Buffer.from('y') });
    await tick();
    assert.deepEqual(nats.published.filter((p) => p.subject.includes('.to.')).map((p) => p.subject), [subjects.to('a')]);
    emitter.close();
  });

  it('releases a SUBACK when every known replica acknowledged the new filter, and announces a removal at once', async () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    nats.interest({ k: 'hello', r: 'a', i: 'ia', s: 0 });
    let subacked = false;
    const listener = () => {};
    emitter.on('acc/+/cmd', listener, () => (subacked = true));
    await tick();
    const [delta] = nats.on(subjects.interest).filter((p) => json(p).k === 'delta');
    assert.deepEqual(json(delta!), { k: 'delta', r: 'b', i: json(delta!).i, s: 1, add: ['acc/+/cmd'] });
    assert.equal(delta!.reply, subjects.direct('b'));
    await tick();
    assert.equal(subacked, false, 'A has not acknowledged yet');
    nats.receive(subjects.direct('b'), { data: Buffer.from(JSON.stringify({ k: 'ack', r: 'a', s: 1 })) });
    assert.equal(subacked, true);
    emitter.removeListener('acc/+/cmd', listener);
    await tick();
    assert.deepEqual(nats.on(subjects.interest).map(json).filter((m) => m.k === 'delta').map((m) => [m.s, m.add, m.del]), [[1, ['acc/+/cmd'], undefined], [2, undefined, ['acc/+/cmd']]]);
    emitter.close();
  });

  it('asks a replica for a snapshot when its heartbeat shows an announcement this one missed', () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    nats.interest({ k: 'snap', r: 'a', i: 'ia', s: 3, filters: [], first: true, last: true });
    nats.interest({ k: 'beat', r: 'a', i: 'ia', s: 3 });
    assert.equal(nats.on(subjects.direct('a')).length, 0);
    nats.interest({ k: 'beat', r: 'a', i: 'ia', s: 4 });
    assert.deepEqual(nats.on(subjects.direct('a')).map(json).map((m) => m.k), ['sync']);
    assert.equal(emitter.stats.resyncs, 1);
    emitter.close();
  });

  it('answers a hello with its filters, in parts when they are many', () => {
    const nats = fakeNats();
    const emitter = createNatsMqEmitter({ nc: nats.nc, replicaId: 'b', log: silent });
    const filters = Array.from({ length: 3000 }, (_, n) => `account-${n}/devices/device-${n}/commands/#`);
    for (const f of filters) emitter.on(f, () => {});
    emitter.on(TAKEOVER_PATTERN, () => {});
    nats.interest({ k: 'hello', r: 'c', i: 'ic', s: 0 }, subjects.direct('c'));
    const parts = nats.on(subjects.direct('c')).map(json);
    assert.ok(parts.length > 1, `${parts.length} parts`);
    assert.deepEqual([parts[0].first, parts.at(-1).last], [true, true]);
    assert.deepEqual(parts.flatMap((p) => p.filters), filters, 'every filter, no $SYS one');
    emitter.close();
  });
});
