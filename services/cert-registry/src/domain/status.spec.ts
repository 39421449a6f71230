import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertStatus } from '@twoway/contracts';
import { planStatusChange } from './status.js';

const all: CertStatus[] = ['VALID', 'SUSPENDED', 'REVOKED'];

describe('planStatusChange', () => {
  for (const before of all)
    for (const after of all)
      it(`${before} → ${after} is ${before === after ? 'a no-op' : 'allowed'}`, () => {
        assert.deepEqual(planStatusChange(before, after), before === after ? { changed: false } : { changed: true, before, after });
      });
});
