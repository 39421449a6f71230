import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FilterTrie } from '../cluster/interest.js';
import { covers, intersects, matchesTopic } from './filter.js';

const L = (f: string) => f.split('/');

describe('matchesTopic [MQTT-4.7]', () => {
  const rows: [string, string, boolean][] = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['a/+', 'a/b/c', false],
    ['+/+', '/x', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'anything/at/all', true],
    ['#', '$SYS/x', false],
    ['+/x', '$foo/x', false],
    ['$foo/#', '$foo/x', true],
    ['a//b', 'a//b', true],
    ['a/b', 'a/b/', false],
  ];
  for (const [f, t, want] of rows) it(`${f} ${want ? 'matches' : 'does not match'} ${t}`, () => assert.equal(matchesTopic(L(f), t), want));

  it('agrees with the interest trie the replicas route by (cluster/interest.ts) on a grid of filters and topics', () => {
    const filters = ['#', '+', 'a', 'a/#', 'a/+', '+/b', 'a/b', 'a/b/#', '+/+/+', '$x/#', '$x/+', 'a//b', '/#', '+/#'];
    const topics = ['a', 'a/b', 'a/b/c', 'b', '/', '/b', 'a//b', '$x', '$x/y', 'a/', ''];
    for (const f of filters) {
      const trie = new FilterTrie<string>();
      trie.add(f, f);
      for (const t of topics) assert.equal(matchesTopic(L(f), t), trie.match(t).has(f), `${f} vs ${JSON.stringify(t)}`);
    }
  });
});

describe('covers and intersects', () => {
  const rows: { a: string; b: string; covers: boolean; intersects: boolean }[] = [
    { a: 'a/#', b: 'a/b', covers: true, intersects: true },
    { a: 'a/#', b: 'a/#', covers: true, intersects: true },
    { a: 'a/#', b: 'a', covers: true, intersects: true },
    { a: 'a/#', b: '#', covers: false, intersects: true },
    { a: 'a/+', b: 'a/b', covers: true, intersects: true },
    { a: 'a/+', b: 'a/+', covers: true, intersects: true },
    { a: 'a/+', b: 'a/#', covers: false, intersects: true },
    { a: 'a/b', b: 'a/+', covers: false, intersects: true },
    { a: 'a/b', b: 'a/c', covers: false, intersects: false },
    { a: 'a/b/#', b: 'a/+', covers: false, intersects: true },
    { a: 'a/b/c', b: 'a/+', covers: false, intersects: false },
    { a: '#', b: 'a/b/c', covers: true, intersects: true },
    { a: '#', b: '$SYS/#', covers: false, intersects: false },
    { a: '+/x', b: '$foo/x', covers: false, intersects: false },
    { a: '$foo/#', b: '$foo/x', covers: true, intersects: true },
    { a: '$foo/#', b: '+/x', covers: false, intersects: false },
    { a: 'x/+/z', b: '+/y/#', covers: false, intersects: true },
    { a: 'x', b: 'x/y', covers: false, intersects: false },
  ];
  for (const r of rows) {
    it(`${r.a} ${r.covers ? 'covers' : 'does not cover'} ${r.b}, ${r.intersects ? 'shares' : 'shares no'} topic`, () => {
      assert.equal(covers(L(r.a), L(r.b)), r.covers);
      assert.equal(intersects(L(r.a), L(r.b)), r.intersects);
      assert.equal(intersects(L(r.b), L(r.a)), r.intersects, 'intersects is symmetric');
    });
  }
});
