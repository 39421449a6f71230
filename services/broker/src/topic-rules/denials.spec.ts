import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DenialBudget } from './denials.js';

describe('DenialBudget: audited topic denials per session and minute', () => {
  it('given a budget of 3, the first 3 denials of a minute are audited and the rest only counted', () => {
    const b = new DenialBudget(3);
    const t0 = 1_000_000;
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => b.take(t0 + i)), [0, 0, 0, undefined, undefined]);
  });
  it('when the next minute starts, the first audited denial says how many went unaudited', () => {
    const b = new DenialBudget(1);
    const t0 = 5_000;
    assert.equal(b.take(t0), 0);
    assert.equal(b.take(t0 + 10), undefined);
    assert.equal(b.take(t0 + 59_999), undefined);
    assert.equal(b.take(t0 + 60_000), 2);
    assert.equal(b.take(t0 + 60_001), undefined);
  });
  it('a budget of 0 audits nothing', () => {
    const b = new DenialBudget(0);
    assert.deepEqual([b.take(1), b.take(70_000)], [undefined, undefined]);
  });
});
