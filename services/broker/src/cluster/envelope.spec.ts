import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope, encodeEnvelope, EnvelopeInvalidError, forwardDecision, packetFromEnvelope } from './envelope.js';

describe('forwarded MQTT envelope', () => {
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
