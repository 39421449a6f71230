import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FilterTrie, RemoteInterest, type InterestMessage } from './interest.js';

describe('FilterTrie: which filters match a topic', () => {
  const cases: [filter: string, topic: string, matches: boolean][] = [
    ['fleet/+/telemetry', 'fleet/d1/telemetry', true],
    ['fleet/+/telemetry', 'fleet/d1/status', false],
    ['fleet/+/telemetry', 'fleet/d1/x/telemetry', false],
    // [MQTT-4.7.1-3] `+` matches an empty level.
    ['fleet/+/telemetry', 'fleet//telemetry', true],
    ['a//b', 'a//b', true],
    ['a//b', 'a/b', false],
    // [MQTT-4.7.1-2] `#` matches the parent level and every level below.
    ['fleet/#', 'fleet', true],
    ['fleet/#', 'fleet/', true],
    ['fleet/#', 'fleet/d1/telemetry', true],
    ['fleet/#', 'fleets', false],
    ['#', 'anything/at/all', true],
    ['+', 'one', true],
    ['+', 'one/two', false],
    ['+/+', '/x', true],
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a `$` topic.
    ['#', '$SYS/x', false],
    ['+/x', '$a/x', false],
    ['$a/#', '$a/x', true],
    ['$a/+', '$a/x', true],
    // Mounted `$`-topics of an account: `$/<account>/$foo`.
    ['$/acc/$foo/#', '$/acc/$foo/bar', true],
    ['acc/#', '$/acc/$foo/bar', false],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
  ];
  for (const [filter, topic, matches] of cases) {
    it(`${filter} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      const t = new FilterTrie<string>();
      t.add(filter, 'r');
      assert.deepEqual([...t.match(topic)], matches ? ['r'] : []);
    });
  }

  it('returns each value once and forgets removed filters, pruning their branches', () => {
    const t = new FilterTrie<string>();
    t.add('a/#', 'r1');
    t.add('a/+', 'r1');
    t.add('a/b', 'r2');
    assert.deepEqual([...t.match('a/b')].sort(), ['r1', 'r2']);
    t.remove('a/#', 'r1');
    t.remove('a/b', 'r2');
    t.remove('never/added', 'r2');
    assert.deepEqual([...t.match('a/b')], ['r1']);
    t.remove('a/+', 'r1');
    assert.deepEqual([...t.match('a/b')], []);
    assert.equal((t as unknown as { root: { children: Map<string, unknown> } }).root.children.size, 0);
  });
});

describe('RemoteInterest: the filters other replicas announced', () => {
  const delta = (s: number, add: string[] = [], del: string[] = [], i = 'inc-1'): InterestMessage => ({ k: 'delta', r: 'b', i, s, add, del });
  const snap = (s: number, filters: string[], first = true, last = true, i = 'inc-1'): InterestMessage => ({ k: 'snap', r: 'b', i, s, filters, first, last });
  const routes = (ri: RemoteInterest, topic: string) => [...ri.match(topic)];

  it('given B said hello, when B announces filters in order, then its topics route to B and no snapshot is asked', () => {
    const ri = new RemoteInterest();
    assert.deepEqual(ri.apply({ k: 'hello', r: 'b', i: 'inc-1', s: 0 }, 0), { needSnapshot: false });
    assert.deepEqual(ri.apply(delta(1, ['fleet/#']), 1), { needSnapshot: false });
    assert.deepEqual(ri.apply(delta(2, ['x/y']), 2), { needSnapshot: false });
    assert.deepEqual(routes(ri, 'fleet/d1'), ['b']);
    assert.deepEqual(ri.apply(delta(3, [], ['fleet/#']), 3), { needSnapshot: false });
    assert.deepEqual(routes(ri, 'fleet/d1'), []);
    assert.deepEqual(routes(ri, 'x/y'), ['b']);
  });

  it('given a known B, when an announcement was lost, then the next delta or heartbeat asks for a snapshot, which replaces the set', () => {
    const ri = new RemoteInterest();
    ri.apply(snap(4, ['a/#']), 0);
    assert.deepEqual(ri.apply(delta(6, ['c']), 1), { needSnapshot: true }, 'delta 5 missing');
    assert.deepEqual(ri.apply({ k: 'beat', r: 'b', i: 'inc-1', s: 7 }, 2), { needSnapshot: true }, 'heartbeat ahead of us');
    assert.deepEqual(ri.apply({ k: 'beat', r: 'b', i: 'inc-1', s: 6 }, 3), { needSnapshot: false });
    ri.apply(snap(7, ['b/#', 'c']), 4);
    assert.deepEqual([routes(ri, 'a/1'), routes(ri, 'b/1'), routes(ri, 'c')], [[], ['b'], ['b']]);
  });

  it('given an unknown B, when its heartbeat or first delta arrives, then a snapshot is asked', () => {
    assert.deepEqual(new RemoteInterest().apply({ k: 'beat', r: 'b', i: 'inc-1', s: 0 }, 0), { needSnapshot: true });
    assert.deepEqual(new RemoteInterest().apply(delta(9, ['a']), 0), { needSnapshot: true });
  });

  it('installs a snapshot in parts only when its last part arrives', () => {
    const ri = new RemoteInterest();
    ri.apply(snap(1, ['old']), 0);
    ri.apply(snap(2, ['p1'], true, false), 1);
    assert.deepEqual([routes(ri, 'old'), routes(ri, 'p1')], [['b'], []]);
    ri.apply(snap(2, ['p2'], false, true), 2);
    assert.deepEqual([routes(ri, 'old'), routes(ri, 'p1'), routes(ri, 'p2')], [[], ['b'], ['b']]);
  });

  it('given B restarted under the same id, then the filters of its previous incarnation are gone', () => {
    const ri = new RemoteInterest();
    ri.apply(snap(5, ['a/#']), 0);
    assert.deepEqual(ri.apply({ k: 'hello', r: 'b', i: 'inc-2', s: 0 }, 1), { needSnapshot: false });
    assert.deepEqual(routes(ri, 'a/1'), []);
  });

  it('forgets B on its goodbye (not a stale incarnation’s), and when it stays silent past the deadline', () => {
    const ri = new RemoteInterest();
    ri.apply(snap(1, ['a']), 0);
    ri.apply({ k: 'bye', r: 'b', i: 'inc-0' }, 1);
    assert.deepEqual(routes(ri, 'a'), ['b']);
    ri.apply({ k: 'bye', r: 'b', i: 'inc-1' }, 2);
    assert.deepEqual(routes(ri, 'a'), []);
    ri.apply(snap(1, ['a']), 10);
    assert.deepEqual(ri.expire(5), []);
    assert.deepEqual(ri.expire(11), ['b']);
    assert.deepEqual(routes(ri, 'a'), []);
  });

  it('changes its version whenever a route may change, so cached routes are dropped', () => {
    const ri = new RemoteInterest();
    const v0 = ri.version;
    ri.apply(snap(1, ['a']), 0);
    const v1 = ri.version;
    ri.apply({ k: 'beat', r: 'b', i: 'inc-1', s: 1 }, 1);
    assert.equal(ri.version, v1, 'a heartbeat changes nothing');
    ri.apply(delta(2, ['b']), 2);
    assert.ok(v1 > v0 && ri.version > v1);
  });
});
