import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
// Through the index, which registers the string formats (date-time) the schema uses.
import { ACCOUNT_PATH_MAX_ITEMS, AuditEvent, auditAccountPath } from './index.js';

const event = (account: string | null, accountPath: string[] | undefined) => ({
  id: 'e-1',
  type: 'connect.accepted',
  time: '2026-11-23T10:00:00.000Z',
  account,
  ...(accountPath ? { accountPath } : {}),
  actor: { kind: 'device', id: 'sensor-1' },
  source: 'broker-0',
});

describe('auditAccountPath', () => {
  const deep = Array.from({ length: ACCOUNT_PATH_MAX_ITEMS + 1 }, (_, i) => `a${i}`);
  const cases: [string, string | null | undefined, readonly string[] | undefined, string[] | undefined][] = [
    ['the ancestry of the account, self first', 'plant', ['plant', 'acme', 'provider'], ['plant', 'acme', 'provider']],
    ['the root itself', 'provider', ['provider'], ['provider']],
    ['no account (a connect that could not be attributed)', null, ['plant', 'provider'], undefined],
    ['no ancestry known', 'plant', undefined, undefined],
    ['an empty ancestry', 'plant', [], undefined],
    ['an ancestry of another account (the store would dead-letter the event)', 'plant', ['acme', 'provider'], undefined],
    ['deeper than the schema allows (the store would dead-letter the event)', 'a0', deep, undefined],
    ['exactly as deep as the schema allows', 'a0', deep.slice(0, ACCOUNT_PATH_MAX_ITEMS), deep.slice(0, ACCOUNT_PATH_MAX_ITEMS)],
  ];
  for (const [name, account, ancestry, expected] of cases) {
    it(`given ${name}, then ${expected ? 'the path' : 'no path'}`, () => {
      const path = auditAccountPath(account, ancestry);
      assert.deepEqual(path, expected);
      // Whatever it returns makes a valid event: a publisher can never get its event refused by it.
      assert.ok(Value.Check(AuditEvent, event(account ?? null, path)));
    });
  }

  it('returns a copy, so a cached ancestry is never shared with an event', () => {
    const ancestry = ['plant', 'provider'];
    const path = auditAccountPath('plant', ancestry)!;
    path.push('x');
    assert.deepEqual(ancestry, ['plant', 'provider']);
  });
});
