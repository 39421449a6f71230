import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sumSessionCounts } from './live-sessions.js';

const reply = (replica: string, accounts: [string, number][], accountsTruncated = false) => ({
  replica,
  sessions: accounts.reduce((n, [, s]) => n + s, 0),
  accounts: accounts.map(([accountId, sessions]) => ({ accountId, sessions })),
  accountsTruncated,
});

describe('sumSessionCounts', () => {
  it('given no replies, then nothing counted and no replica', () => {
    assert.deepEqual(sumSessionCounts([]), { sessions: 0, accounts: [], accountsTruncated: false, replicas: 0 });
  });
  it('given replicas with sessions in the same accounts, then sums per account, most first, ties by id', () => {
    assert.deepEqual(sumSessionCounts([reply('b0', [['a', 1], ['c', 2]]), reply('b1', [['b', 3], ['a', 2]])]), {
      sessions: 8,
      accounts: [{ accountId: 'a', sessions: 3 }, { accountId: 'b', sessions: 3 }, { accountId: 'c', sessions: 2 }],
      accountsTruncated: false,
      replicas: 2,
    });
  });
  it('given more accounts than the bound, or a replica that cut its list, then says the list is cut', () => {
    assert.deepEqual(sumSessionCounts([reply('b0', [['a', 1], ['b', 2]])], 1).accounts, [{ accountId: 'b', sessions: 2 }]);
    assert.equal(sumSessionCounts([reply('b0', [['a', 1], ['b', 2]])], 1).accountsTruncated, true);
    assert.equal(sumSessionCounts([reply('b0', [['a', 1]], true)]).accountsTruncated, true);
  });
});
