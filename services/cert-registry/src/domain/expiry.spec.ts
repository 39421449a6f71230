import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS, type CertStatus } from '@twoway/contracts';
import type { ExpiryNotice } from '../db/entities.js';
import { expiryNoticeDue } from './expiry.js';

describe('expiryNoticeDue', () => {
  const now = new Date('2026-11-23T10:00:00.000Z');
  const at = (ms: number) => new Date(now.getTime() + ms);
  const cases: [string, { notAfter: Date; status: CertStatus; expiryNotice: ExpiryNotice | null }, ExpiryNotice | undefined][] = [
    ['a year left, never audited', { notAfter: at(365 * DAY_MS), status: 'VALID', expiryNotice: null }, undefined],
    ['within the window, never audited', { notAfter: at(10 * DAY_MS), status: 'VALID', expiryNotice: null }, 'expiring'],
    ['exactly the window left', { notAfter: at(30 * DAY_MS), status: 'VALID', expiryNotice: null }, 'expiring'],
    ['within the window, suspended (it may be restored)', { notAfter: at(10 * DAY_MS), status: 'SUSPENDED', expiryNotice: null }, 'expiring'],
    ['within the window, revoked', { notAfter: at(10 * DAY_MS), status: 'REVOKED', expiryNotice: null }, undefined],
    ['within the window, already audited expiring', { notAfter: at(10 * DAY_MS), status: 'VALID', expiryNotice: 'expiring' }, undefined],
    ['on its last instant, audited expiring', { notAfter: now, status: 'VALID', expiryNotice: 'expiring' }, undefined],
    ['expired, audited expiring', { notAfter: at(-1), status: 'VALID', expiryNotice: 'expiring' }, 'expired'],
    ['expired, never audited (first scan after it ended)', { notAfter: at(-DAY_MS), status: 'VALID', expiryNotice: null }, 'expired'],
    ['expired, already audited expired', { notAfter: at(-DAY_MS), status: 'VALID', expiryNotice: 'expired' }, undefined],
    ['expired, revoked', { notAfter: at(-DAY_MS), status: 'REVOKED', expiryNotice: 'expiring' }, undefined],
  ];
  for (const [name, facts, expected] of cases) {
    it(`given ${name}, then ${expected ?? 'nothing'}`, () => assert.equal(expiryNoticeDue(facts, now, 30), expected));
  }
});
