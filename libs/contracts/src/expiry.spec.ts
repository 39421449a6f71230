import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, ExpiryStates, Certificate, daysLeft, expiryOf } from './index.js';

describe('expiryOf', () => {
  const now = Date.parse('2026-11-23T10:00:00.000Z');
  const cases: [string, number, number, string][] = [
    ['a year left, 30-day window', now + 365 * DAY_MS, 30, 'ok'],
    ['one millisecond more than the window left', now + 30 * DAY_MS + 1, 30, 'ok'],
    ['exactly the window left', now + 30 * DAY_MS, 30, 'expiring'],
    ['ten days left', now + 10 * DAY_MS, 30, 'expiring'],
    ['its last instant (validity includes notAfter, RFC 5280)', now, 30, 'expiring'],
    ['one millisecond past notAfter', now - 1, 30, 'expired'],
    ['long expired', now - 400 * DAY_MS, 30, 'expired'],
    ['ten days left, 7-day window', now + 10 * DAY_MS, 7, 'ok'],
    ['ten days left, 90-day window', now + 10 * DAY_MS, 90, 'expiring'],
  ];
  for (const [name, notAfter, windowDays, expected] of cases) {
    it(`given ${name}, then ${expected}`, () => assert.equal(expiryOf(notAfter, now, windowDays), expected));
  }

  it('counts whole days left, 0 on the last day and negative once expired', () => {
    assert.deepEqual([daysLeft(now + 10 * DAY_MS, now), daysLeft(now + DAY_MS - 1, now), daysLeft(now - 1, now)], [10, 0, -1]);
  });

  it('the Certificate schema knows exactly the states the rule gives', () => {
    const schema = Certificate.properties.expiry as unknown as { anyOf: { const: string }[] };
    assert.deepEqual(schema.anyOf.map((l) => l.const).sort(), Object.values(ExpiryStates).sort());
  });
});
