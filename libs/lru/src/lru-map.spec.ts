// LruMap: bounded, least recently used leaves first, one at a time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from './lru-map.js';

describe('LruMap', () => {
  it('given a full map, a new entry evicts only the least recently used one (no cliff)', () => {
    const evicted: string[] = [];
    const m = new LruMap<string, number>(3, (k) => evicted.push(k));
    m.set('a', 1).set('b', 2).set('c', 3);
    assert.equal(m.get('a'), 1); // a is now the most recent: b is the oldest
    m.set('d', 4);
    assert.deepEqual(evicted, ['b']);
    assert.deepEqual([...m.entries()], [['c', 3], ['a', 1], ['d', 4]]);
    assert.equal(m.size, 3);
    assert.equal(m.evictions, 1);
  });

  it('given a flood of distinct keys, keeps exactly its bound of the newest', () => {
    const m = new LruMap<number, number>(100);
    for (let i = 0; i < 10_000; i++) m.set(i, i);
    assert.equal(m.size, 100);
    assert.equal(m.evictions, 9_900);
    assert.equal(m.peek(9_999), 9_999);
    assert.equal(m.peek(9_899), undefined);
  });

  it('given an update of a present key, evicts nothing and makes it the most recent', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1).set('b', 2).set('a', 10);
    assert.equal(m.evictions, 0);
    assert.deepEqual(m.oldest(), ['b', 2]);
  });

  it('peek leaves recency alone', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1).set('b', 2);
    m.peek('a');
    m.set('c', 3);
    assert.equal(m.has('a'), false);
  });

  it('given a bound of 0, keeps nothing', () => {
    const m = new LruMap<string, number>(0);
    m.set('a', 1);
    assert.equal(m.size, 0);
    assert.equal(m.get('a'), undefined);
  });

  it('resize evicts down to the new bound, oldest first', () => {
    const m = new LruMap<number, number>(5);
    for (let i = 0; i < 5; i++) m.set(i, i);
    m.resize(2);
    assert.deepEqual([...m.entries()].map(([k]) => k), [3, 4]);
    assert.equal(m.evictions, 3);
    assert.throws(() => m.resize(-1), RangeError);
  });
});
