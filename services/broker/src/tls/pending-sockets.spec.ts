// PendingSockets: given bounds per address and in all, a newcomer is always admitted and the oldest
// pending socket of the fullest address makes room.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingSockets } from './pending-sockets.js';

describe('PendingSockets', () => {
  it('given an address at its bound, a new socket from it evicts that address\'s oldest', () => {
    const p = new PendingSockets<string>({ perAddress: 2, total: 100 });
    assert.deepEqual(p.admit('nat', 'a1'), []);
    assert.deepEqual(p.admit('nat', 'a2'), []);
    assert.deepEqual(p.admit('nat', 'a3'), [{ item: 'a1', bound: 'address' }]);
    assert.equal(p.countOf('nat'), 2);
  });

  it('given the global bound, the flooding address loses its oldest, not the newcomer from elsewhere', () => {
    const p = new PendingSockets<string>({ perAddress: 10, total: 4 });
    for (const s of ['f1', 'f2', 'f3']) p.admit('flood', s);
    p.admit('home', 'h1');
    assert.deepEqual(p.admit('other', 'o1'), [{ item: 'f1', bound: 'global' }]);
    assert.deepEqual(p.admit('other', 'o2'), [{ item: 'f2', bound: 'global' }]);
    // now flood 1, home 1, other 2: the fullest is `other`
    assert.deepEqual(p.admit('home', 'h2'), [{ item: 'o1', bound: 'global' }]);
    assert.equal(p.size, 4);
  });

  it('release is idempotent and frees the slot (a decided, closed or evicted socket)', () => {
    const p = new PendingSockets<string>({ perAddress: 1, total: 1 });
    p.admit('a', 'x');
    p.release('a', 'x');
    p.release('a', 'x');
    assert.equal(p.size, 0);
    assert.deepEqual(p.admit('b', 'y'), []);
  });

  it('a long flood from one address keeps both bounds and never blocks a newcomer', () => {
    const p = new PendingSockets<number>({ perAddress: 50, total: 80 });
    for (let i = 0; i < 10_000; i++) p.admit(`10.0.0.${i % 3}`, i);
    assert.ok(p.size <= 80);
    for (const a of ['10.0.0.0', '10.0.0.1', '10.0.0.2']) assert.ok(p.countOf(a) <= 50);
    p.admit('192.0.2.1', -1);
    assert.equal(p.countOf('192.0.2.1'), 1);
  });
});
