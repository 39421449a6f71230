// RequestLimiter: given a limit of concurrent and queued requests, the rest are shed at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestLimiter } from './request-limiter.js';

function harness(maxConcurrent: number, maxQueued: number, maxQueueWaitMs?: number) {
  const ran: number[] = [];
  const refused: number[] = [];
  const l = new RequestLimiter<number>({ maxConcurrent, maxQueued, ...(maxQueueWaitMs !== undefined ? { maxQueueWaitMs } : {}) }, (j) => ran.push(j), (j) => refused.push(j));
  return { l, ran, refused };
}

describe('RequestLimiter', () => {
  it('given 2 running and 1 queued, a fourth request is shed on arrival', () => {
    const { l, ran, refused } = harness(2, 1);
    assert.deepEqual([1, 2, 3, 4].map((j) => l.offer(j, 0)), ['run', 'run', 'queued', 'shed']);
    assert.deepEqual(ran, [1, 2]);
    assert.deepEqual(refused, [4]);
    assert.equal(l.shed, 1);
  });

  it('when a request finishes, the oldest waiting one runs (arrival order)', () => {
    const { l, ran } = harness(1, 5);
    for (const j of [1, 2, 3]) l.offer(j, 0);
    l.done(1);
    l.done(2);
    assert.deepEqual(ran, [1, 2, 3]);
    assert.equal(l.inFlight, 1);
    assert.equal(l.queued, 0);
  });

  it('given a request that waited longer than maxQueueWaitMs, it is refused when its turn comes and the next runs', () => {
    const { l, ran, refused } = harness(1, 5, 100);
    l.offer(1, 0);
    l.offer(2, 0);
    l.offer(3, 150);
    l.done(200);
    assert.deepEqual(ran, [1, 3]);
    assert.deepEqual(refused, [2]);
  });

  it('given no queue, only the concurrent limit runs and the rest are shed', () => {
    const { l, refused } = harness(1, 0);
    l.offer(1, 0);
    assert.equal(l.offer(2, 0), 'shed');
    assert.deepEqual(refused, [2]);
  });

  it('a long flood keeps the queue bounded and its memory compacted', () => {
    const { l, ran } = harness(1, 10);
    l.offer(0, 0);
    for (let j = 1; j < 5000; j++) {
      l.offer(j, 0);
      l.done(0);
    }
    assert.equal(ran.length, 5000);
    assert.ok(l.queued <= 10);
  });
});
