// MqttByteGuard: given limits before and after the CONNECT decision, a declared packet length beyond
// them is caught from its fixed header, before the body arrives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixedHeader } from '@twoway/testing';
import { MqttByteGuard } from './byte-guard.js';

const header = (type: number, length: number) => Uint8Array.from(fixedHeader(type, length));
const limits = { beforeDecisionBytes: 1024, maxPacketBytes: 4096 };

describe('MqttByteGuard', () => {
  it('given an undecided socket, a header declaring 256 MB is refused at once (stage connect)', () => {
    const g = new MqttByteGuard(limits, () => false);
    assert.deepEqual(g.feed(header(0x10, 268_435_455)), { stage: 'connect', bytes: 1 + 4 + 268_435_455, limit: 1024 });
  });

  it('given an undecided socket, many small packets beyond the byte budget are refused', () => {
    const g = new MqttByteGuard(limits, () => false);
    const ping = Uint8Array.of(0xc0, 0x00);
    for (let i = 0; i < 512; i++) assert.equal(g.feed(ping), undefined);
    assert.deepEqual(g.feed(ping), { stage: 'connect', bytes: 1026, limit: 1024 });
  });

  it('given a decided session, packets up to the limit pass, split anywhere, and a larger one is refused', () => {
    const g = new MqttByteGuard(limits, () => true);
    const h = header(0x30, 4096 - 3);
    const packet = new Uint8Array(4096);
    packet.set(h);
    for (let at = 0; at < packet.length; at += 1000) assert.equal(g.feed(packet.subarray(at, at + 1000)), undefined);
    // split inside the length bytes of the next header
    const big = header(0x30, 5000);
    assert.equal(g.feed(big.subarray(0, 2)), undefined);
    assert.deepEqual(g.feed(big.subarray(2)), { stage: 'session', bytes: 1 + 2 + 5000, limit: 4096 });
  });
});
