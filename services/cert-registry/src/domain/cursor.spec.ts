import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('list cursors', () => {
  it('round-trip a position', () => {
    const p = { createdAt: new Date('2026-11-23T10:00:00.123Z'), id: '0b6f0e8e-4a57-4c55-9b0f-1d2b8c7a1e10' };
    assert.deepEqual(decodeCursor(encodeCursor(p)), p);
  });
  for (const bad of ['', 'not-base64!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('["yesterday","x"]').toString('base64url'), Buffer.from('["2026-01-01T00:00:00Z","DROP TABLE"]').toString('base64url')]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(decodeCursor(bad), undefined));
  }
});
