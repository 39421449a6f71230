import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAnchor, type AnchorFacts } from './anchor-rules.js';

const now = new Date('2026-06-01T00:00:00Z');
const base: AnchorFacts = {
  fingerprint: 'ab'.repeat(32),
  kind: 'root',
  keyType: 'EC P-256',
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2030-01-01T00:00:00Z'),
};

describe('checkAnchor', () => {
  const cases: [string, Partial<AnchorFacts>, RegExp | null][] = [
    ['a valid EC root', {}, null],
    ['an intermediate', { kind: 'intermediate' }, null],
    ['a pinned leaf', { kind: 'leaf' }, null],
    ['RSA 2048', { keyType: 'RSA 2048' }, null],
    ['RSA 4096', { keyType: 'RSA 4096' }, null],
    ['Ed25519', { keyType: 'Ed25519' }, null],
    ['EC P-384', { keyType: 'EC P-384' }, null],
    ['not yet valid (anchors from notBefore on)', { notBefore: new Date('2026-07-01T00:00:00Z') }, null],
    ['expiring exactly now (RFC 5280 validity is inclusive)', { notAfter: now }, null],
    ['RSA 1024', { keyType: 'RSA 1024' }, /weak key: RSA 1024 bits/],
    ['RSA 2047', { keyType: 'RSA 2047' }, /weak key/],
    ['an unknown curve', { keyType: 'EC secp256k1' }, /unsupported key type EC secp256k1/],
    ['an unreadable key', { keyType: 'unknown' }, /unsupported key type/],
    ['expired a second ago', { notAfter: new Date(now.getTime() - 1000) }, /expired on 2026-05-31T23:59:59.000Z/],
  ];
  for (const [name, change, problem] of cases) {
    it(`${problem ? 'refuses' : 'accepts'} ${name}`, () => {
      const v = checkAnchor({ ...base, ...change }, now);
      if (!problem) assert.deepEqual(v, { ok: true });
      else {
        assert.equal(v.ok, false);
        assert.match((v as { problem: string }).problem, problem);
      }
    });
  }
});
