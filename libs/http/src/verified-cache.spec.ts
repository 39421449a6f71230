import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VerifiedCache } from './verified-cache.js';

describe('verified cache', () => {
  const cache = () => new VerifiedCache<string>({ freshMs: 2_000, graceMs: 900_000, maxEntries: 3 });

  it('given a value verified at 0, when asked at 1.9 s, then it is fresh; at 2 s it is not', () => {
    const c = cache();
    c.set('t', 'p', 0);
    assert.equal(c.fresh('t', 1_999), 'p');
    assert.equal(c.fresh('t', 2_000), undefined);
  });

  it('given a value verified at 0, when the owner cannot be asked, then it serves until the grace bound and not after', () => {
    const c = cache();
    c.set('t', 'p', 0);
    assert.equal(c.withinGrace('t', 899_999), 'p');
    assert.equal(c.withinGrace('t', 900_000), undefined);
  });

  it('given a re-verification, then the grace bound counts from it', () => {
    const c = cache();
    c.set('t', 'p', 0);
    c.set('t', 'p', 600_000);
    assert.equal(c.withinGrace('t', 1_000_000), 'p');
  });

  it('given a grace of 0, then nothing is served when the owner cannot be asked', () => {
    const c = new VerifiedCache<string>({ freshMs: 2_000, graceMs: 0, maxEntries: 3 });
    c.set('t', 'p', 0);
    assert.equal(c.withinGrace('t', 0), undefined);
  });

  it('given a full cache, when another value is verified, then the one verified longest ago goes', () => {
    const c = cache();
    c.set('a', '1', 0);
    c.set('b', '2', 1);
    c.set('c', '3', 2);
    c.set('a', '1', 3); // re-verified: now the newest
    c.set('d', '4', 4);
    assert.equal(c.size, 3);
    assert.equal(c.withinGrace('b', 5), undefined);
    assert.deepEqual(['a', 'c', 'd'].map((k) => c.withinGrace(k, 5)), ['1', '3', '4']);
  });

  it('given a revocation (clear), then nothing is served', () => {
    const c = cache();
    c.set('t', 'p', 0);
    c.clear();
    assert.equal(c.withinGrace('t', 1), undefined);
  });
});
