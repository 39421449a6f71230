import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sumSessionCounts } from './live-sessions.js';

const reply = (replica: string, accounts: [string, number][], accountsTruncated = false, couldFallBack: number | null = 0) => ({
  replica,
  sessions: accounts.reduce((n, [, s]) => n + s, 0),
  accounts: accounts.map(([accountId, sessions]) => ({ accountId, sessions })),
  accountsTruncated,
  // null: a replica that predates the figure leaves it out.
  ...(couldFallBack !== null ? { couldFallBack } : {}),
});

describe('sumSessionCounts', () => {
  it('given no replies, then nothing counted and no replica', () => {
    assert.deepEqual(sumSessionCounts([]), { sessions: 0, accounts: [], accountsTruncated: false, replicas: 0, replicasWithSessions: 0, couldFallBack: 0 });
  });
  it('given replicas with sessions in the same accounts, then sums per account, most first, ties by id', () => {
    assert.deepEqual(sumSessionCounts([reply('b0', [['a', 1], ['c', 2]]), reply('b1', [['b', 3], ['a', 2]])]), {
      sessions: 8,
      accounts: [{ accountId: 'a', sessions: 3 }, { accountId: 'b', sessions: 3 }, { accountId: 'c', sessions: 2 }],
      accountsTruncated: false,
      replicas: 2,
      replicasWithSessions: 2,
      couldFallBack: 0,
    });
  });
  it('given replicas that count devices able to come back on their password alone, then sums them; a replica without sessions is not one they live on', () => {
    const r = sumSessionCounts([reply('b0', [['a', 3]], false, 2), reply('b1', [['a', 1]], false, 1), reply('b2', [])]);
    assert.deepEqual([r.sessions, r.couldFallBack, r.replicas, r.replicasWithSessions], [4, 3, 3, 2]);
  });
  it('given a replica with sessions that does not say (an older broker), then the figure is unknown, not understated', () => {
    assert.equal(sumSessionCounts([reply('b0', [['a', 3]], false, 2), reply('old', [['a', 1]], false, null)]).couldFallBack, null);
    // One without sessions has nothing to leave out.
    assert.equal(sumSessionCounts([reply('b0', [['a', 3]], false, 2), reply('old', [], false, null)]).couldFallBack, 2);
  });
  it('given more accounts than the bound, or a replica that cut its list, then says the list is cut', () => {
    assert.deepEqual(sumSessionCounts([reply('b0', [['a', 1], ['b', 2]])], 1).accounts, [{ accountId: 'b', sessions: 2 }]);
    assert.equal(sumSessionCounts([reply('b0', [['a', 1], ['b', 2]])], 1).accountsTruncated, true);
    assert.equal(sumSessionCounts([reply('b0', [['a', 1]], true)]).accountsTruncated, true);
  });
});
