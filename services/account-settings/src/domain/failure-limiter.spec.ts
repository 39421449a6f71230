import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FailureLimiter } from './failure-limiter.js';

const limits = { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000 };

describe('FailureLimiter', () => {
  it('locks a key at the limit and unlocks it when the lockout has passed', () => {
    const l = new FailureLimiter(limits);
    assert.equal(l.fail('u', 0), false);
    assert.equal(l.fail('u', 1000), false);
    assert.equal(l.isLocked('u', 1000), false);
    assert.equal(l.fail('u', 2000), true);
    assert.equal(l.isLocked('u', 2000), true);
    assert.equal(l.isLocked('u', 61_999), true);
    assert.equal(l.isLocked('u', 62_000), false);
  });

  it('forgets failures older than the window', () => {
    const l = new FailureLimiter(limits);
    l.fail('u', 0);
    l.fail('u', 1000);
    // the first two fell out of the window: this is failure 1 of a new window
    assert.equal(l.fail('u', 61_001), false);
    assert.equal(l.isLocked('u', 61_001), false);
    assert.equal(l.fail('u', 61_002), false);
    assert.equal(l.fail('u', 61_003), true);
  });

  it('keeps keys apart', () => {
    const l = new FailureLimiter(limits);
    for (let t = 0; t < 3; t++) l.fail('a', t);
    assert.equal(l.isLocked('a', 10), true);
    assert.equal(l.isLocked('b', 10), false);
  });

  it('a success clears failures but not a running lockout', () => {
    const l = new FailureLimiter(limits);
    l.fail('u', 0);
    l.fail('u', 1);
    l.succeed('u');
    assert.equal(l.fail('u', 2), false);
    assert.equal(l.fail('u', 3), false);
    assert.equal(l.fail('u', 4), true);
    l.succeed('u');
    assert.equal(l.isLocked('u', 5), true);
  });

  it('starts counting afresh after a lockout', () => {
    const l = new FailureLimiter(limits);
    for (let t = 0; t < 3; t++) l.fail('u', t);
    assert.equal(l.isLocked('u', 60_002), false);
    assert.equal(l.fail('u', 60_003), false);
    assert.equal(l.isLocked('u', 60_003), false);
  });
});
