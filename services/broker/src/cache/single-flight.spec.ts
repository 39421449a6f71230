// SingleFlight: concurrent fetches of one key share one request, unless the generation moved.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SingleFlight } from './single-flight.js';

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const p = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { p, resolve, reject };
};

describe('SingleFlight', () => {
  it('given concurrent callers of one key and generation, fetches once and answers all', async () => {
    const sf = new SingleFlight<string>();
    const d = deferred<string>();
    let fetches = 0;
    const f = () => (fetches++, d.p);
    const all = Promise.all([sf.run('a', 1, f), sf.run('a', 1, f), sf.run('a', 1, f)]);
    d.resolve('set');
    assert.deepEqual(await all, ['set', 'set', 'set']);
    assert.equal(fetches, 1);
    assert.equal(sf.size, 0, 'nothing left in flight');
  });

  it('given a caller after the generation moved, starts its own fetch (the one in flight may be stale)', async () => {
    const sf = new SingleFlight<string>();
    const old = deferred<string>();
    const fresh = deferred<string>();
    const a = sf.run('a', 1, () => old.p);
    const b = sf.run('a', 2, () => fresh.p);
    fresh.resolve('after the event');
    old.resolve('before the event');
    assert.equal(await a, 'before the event');
    assert.equal(await b, 'after the event');
    assert.equal(sf.size, 0);
  });

  it('given a failed fetch, the next caller fetches again', async () => {
    const sf = new SingleFlight<string>();
    await assert.rejects(sf.run('a', 1, () => Promise.reject(new Error('no answer'))), /no answer/);
    assert.equal(await sf.run('a', 1, () => Promise.resolve('second')), 'second');
  });

  it('given different keys, fetches each', async () => {
    const sf = new SingleFlight<string>();
    let fetches = 0;
    await Promise.all([sf.run('a', 1, async () => (fetches++, 'a')), sf.run('b', 1, async () => (fetches++, 'b'))]);
    assert.equal(fetches, 2);
  });
});
