import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, BACKOFF_MAX_MS } from './supervisor.js';

describe('restart backoff', () => {
  it('doubles from 500 ms and is capped', () => {
    assert.deepEqual([1, 2, 3, 4].map(backoffMs), [500, 1000, 2000, 4000]);
    assert.equal(backoffMs(30), BACKOFF_MAX_MS);
  });
});
