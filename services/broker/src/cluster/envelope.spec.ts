import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers as natsHeaders } from 'nats';
import {
  decodeEnvelope, decodeForward, encodeEnvelope, encodeForward, EnvelopeInvalidError, exceedsMaxPayload, forwardDecision, forwardSubjects, packetFromEnvelope,
} from './envelope.js';

describe('forwarded MQTT PUBLISH (payload as the NATS body, the rest in headers)', () => {
  /** What the receiving side gets: the body and headers as nats.js decodes them from the wire. */
  const overTheWire = ({ data, headers }: ReturnType<typeof encodeForward>) => {
    const wire = (headers as unknown as { encode(): Uint8Array }).encode();
    const decoded = (natsHeaders() as unknown as { constructor: { decode(b: Uint8Array): ReturnType<typeof natsHeaders> } }).constructor.decode(wire);
    return { data: Buffer.from(data), headers: decoded };
  };

  it('round-trips a binary payload unchanged, qos, retain, dedupe keys and MQTT 5 Buffer properties', () => {
    const payload = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0d, 0x0a]);
    const properties = { correlationData: Buffer.from('corr-\u0000'), userProperties: { site: 'a' }, contentType: 'bin' };
    const msg = encodeForward({ topic: 'fleet/d1/t', payload, qos: 1, retain: true, brokerId: 'b1', brokerCounter: 7, clientId: 'd1', properties, messageExpiry: 123 }, 'replica-b');
    assert.equal(msg.data, payload, 'the payload itself is the body: no copy, no encoding');
    const { origin, packet } = decodeForward(overTheWire(msg));
    assert.equal(origin, 'replica-b');
    assert.deepEqual(packet, {
      cmd: 'publish', topic: 'fleet/d1/t', payload, qos: 1, retain: true, dup: false,
      brokerId: 'b1', brokerCounter: 7, clientId: 'd1', properties, messageExpiry: 123,
    });
  });

  it('carries topics and ids NATS header values cannot hold (CR, LF, surrounding spaces, non-ASCII)', () => {
    const odd = { topic: ' a/\r\n/b ', clientId: 'dev\nice % ', brokerId: ' b', payload: 'x' };
    const { origin, packet } = decodeForward(overTheWire(encodeForward(odd, 'pod 1\n')));
    assert.deepEqual([origin, packet.topic, packet.clientId, packet.brokerId], ['pod 1\n', odd.topic, odd.clientId, odd.brokerId]);
    const utf8 = decodeForward(overTheWire(encodeForward({ topic: 'capteurs/température/€', payload: '' }, 'r')));
    assert.equal(utf8.packet.topic, 'capteurs/température/€');
  });

  it('sends a missing payload as empty and an unknown qos as 0, on two header lines', () => {
    const msg = encodeForward({ topic: 'a/b', qos: 7 }, 'r');
    assert.deepEqual([...msg.headers.keys()], ['tw', 'tw-t']);
    assert.equal(msg.headers.get('tw'), '2 00 % % =r % %');
    const { packet } = decodeForward(overTheWire(msg));
    assert.deepEqual([packet.payload.length, packet.qos, packet.retain], [0, 0, false]);
    assert.deepEqual(['brokerId', 'brokerCounter', 'clientId', 'messageExpiry'].filter((k) => k in packet), []);
  });

  it('tells an empty client id from none', () => {
    const { packet } = decodeForward(overTheWire(encodeForward({ topic: 'a', clientId: '' }, 'r')));
    assert.equal(packet.clientId, '');
  });

  const headerCases: [string, Record<string, string> | undefined][] = [
    ['headers missing', undefined],
    ['unknown version 1', { tw: '1 00 % % =r % %', 'tw-t': 't' }],
    ['unknown version (none)', { 'tw-t': 't' }],
    ['metadata malformed', { tw: '2 00 % % =r %', 'tw-t': 't' }],
    ['metadata malformed', { tw: '2 00 % % =r =%E0%A4%A % ', 'tw-t': 't' }],
    ['origin missing', { tw: '2 00 % % % % %', 'tw-t': 't' }],
    ['metadata malformed', { tw: '2 00 % % r % %', 'tw-t': 't' }],
    ['topic missing', { tw: '2 00 % % =r % %' }],
    ['wildcard in topic', { tw: '2 00 % % =r % %', 'tw-t': 'a/+' }],
    ['qos not 0, 1 or 2', { tw: '2 30 % % =r % %', 'tw-t': 't' }],
    ['retain not 0 or 1', { tw: '2 0y % % =r % %', 'tw-t': 't' }],
    ['brokerCounter not a number', { tw: '2 00 x % =r % %', 'tw-t': 't' }],
    ['properties not JSON', { tw: '2 00 % % =r % %', 'tw-t': 't', 'tw-p': '{' }],
  ];
  for (const [problem, hs] of headerCases) {
    it(`refuses a forwarded message: ${problem} (${JSON.stringify(hs?.tw ?? null)})`, () => {
      const h = hs ? natsHeaders() : undefined;
      for (const [k, v] of Object.entries(hs ?? {})) h!.set(k, v);
      assert.throws(() => decodeForward({ data: new Uint8Array(0), headers: h }), (e: unknown) => e instanceof EnvelopeInvalidError && e.problem === problem);
    });
  }

  it('sizes a message exactly near the limit, the same whoever subscribes', () => {
    const packet = { topic: 'big/one', payload: Buffer.alloc(1000), clientId: 'c' };
    const exact = 1000 + (encodeForward(packet, 'r').headers as unknown as { encode(): Uint8Array }).encode().byteLength;
    assert.equal(exceedsMaxPayload(packet, 'r', exact), undefined);
    assert.equal(exceedsMaxPayload(packet, 'r', exact - 1), exact);
    assert.equal(exceedsMaxPayload(packet, 'r', 1024 * 1024), undefined);
  });

  it('gives every replica id one subject token', () => {
    const s = forwardSubjects('base');
    assert.equal(s.to('pod-1'), 'base.to.cG9kLTE');
    for (const id of ['host.example.com-12', 'a b', 'x>*', 'é']) assert.match(s.to(id), /^base\.to\.[A-Za-z0-9_-]+$/);
  });
});

describe('stored MQTT envelope (retained messages)', () => {
  it('round-trips a binary payload, qos, retain, dedupe keys and MQTT 5 Buffer properties', () => {
    const payload = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);
    const properties = { correlationData: Buffer.from('corr-\u0000'), userProperties: { site: 'a' }, contentType: 'bin' };
    const wire = encodeEnvelope({ topic: 'fleet/d1/t', payload, qos: 1, retain: true, brokerId: 'b1', brokerCounter: 7, clientId: 'd1', properties, messageExpiry: 123 }, 'replica-b');
    const env = decodeEnvelope(wire);
    assert.equal(env.origin, 'replica-b');
    assert.deepEqual(packetFromEnvelope(env), {
      cmd: 'publish', topic: 'fleet/d1/t', payload, qos: 1, retain: true, dup: false,
      brokerId: 'b1', brokerCounter: 7, clientId: 'd1', properties, messageExpiry: 123,
    });
  });

  it('encodes a missing payload as empty and an unknown qos as 0', () => {
    const p = packetFromEnvelope(decodeEnvelope(encodeEnvelope({ topic: 'a' }, 'r')));
    assert.deepEqual([p.payload.length, p.qos, p.retain], [0, 0, false]);
  });

  const invalid: [string, unknown][] = [
    ['not JSON', 'nope'],
    ['unknown version 2', { v: 2, origin: 'r', topic: 't', payload: '', qos: 0, retain: false }],
    ['origin missing', { v: 1, topic: 't', payload: '', qos: 0, retain: false }],
    ['topic missing', { v: 1, origin: 'r', topic: '', payload: '', qos: 0, retain: false }],
    ['wildcard in topic', { v: 1, origin: 'r', topic: 'a/#', payload: '', qos: 0, retain: false }],
    ['qos not 0, 1 or 2', { v: 1, origin: 'r', topic: 't', payload: '', qos: 3, retain: false }],
    ['retain not boolean', { v: 1, origin: 'r', topic: 't', payload: '', qos: 0, retain: 1 }],
    ['brokerCounter not a number', { v: 1, origin: 'r', topic: 't', payload: '', qos: 0, retain: false, brokerCounter: '1' }],
  ];
  for (const [problem, body] of invalid) {
    it(`refuses an envelope: ${problem}`, () => {
      const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      assert.throws(() => decodeEnvelope(data), (e: unknown) => e instanceof EnvelopeInvalidError && e.problem === problem);
    });
  }

  const decisions: [string, { topic: string; clientId?: string }, string][] = [
    ['an application topic', { topic: 'fleet/d1/t', clientId: 'd1' }, 'forward'],
    ['a broker heartbeat', { topic: '$SYS/b1/heartbeat' }, 'local-only'],
    ['a broker subscribe notice', { topic: '$SYS/b1/new/subscribes' }, 'local-only'],
    ['the broker takeover notice', { topic: '$SYS/b1/new/clients' }, 'forward'],
    ['a client-published takeover notice', { topic: '$SYS/b1/new/clients', clientId: 'evil' }, 'local-only'],
    ['a takeover lookalike', { topic: '$SYS/b1/new/clients/x' }, 'local-only'],
  ];
  for (const [what, packet, expected] of decisions) {
    it(`${expected === 'forward' ? 'forwards' : 'keeps local'} ${what}`, () => {
      assert.equal(forwardDecision(packet), expected);
    });
  }
});
