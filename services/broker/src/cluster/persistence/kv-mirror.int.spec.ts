// A mirror whose watch goes silent without ending (as after a NATS node kill) notices by comparing
// itself with the bucket, watches again from the next revision, and loses nothing written meanwhile;
// when no new watch opens it keeps up by reading the stream, then ends after its bound (fail closed).
import { it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type KV, type KvEntry, type QueuedIterator } from 'nats';
import { pino } from 'pino';
import { NatsServer } from '@twoway/testing';
import { KvMirror, KvMirrorStalledError, type KvMirrorOptions } from './kv-mirror.js';
import { openKv } from './jetstream.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** `real` whose first watch reports the (empty) bucket initialised, then delivers nothing until stopped; later watches from `next`. */
function silentFirstWatch(real: KV, next: (opts: Parameters<KV['watch']>[0]) => Promise<QueuedIterator<KvEntry>>): { kv: KV; watches: () => number } {
  let watches = 0;
  const kv = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'watch') return Reflect.get(target, prop, receiver) as unknown;
      return async (opts: Parameters<KV['watch']>[0]) => {
        if (watches++ > 0) return next(opts);
        opts?.initializedFn?.();
        let end!: () => void;
        const ended = new Promise<void>((r) => (end = r));
        return { [Symbol.asyncIterator]: async function* () { await ended; }, stop: () => end() } as unknown as QueuedIterator<KvEntry>;
      };
    },
  });
  return { kv, watches: () => watches };
}

/** A mirror on its own nats-server whose first watch goes silent (silentFirstWatch); `seen` lists what it applied. */
async function silentMirror(t: TestContext, bucket: string, next: (real: KV) => (opts: Parameters<KV['watch']>[0]) => Promise<QueuedIterator<KvEntry>>, more: Partial<KvMirrorOptions<string>> = {}) {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const real = await openKv(nc, bucket, { replicas: 1, timeout: 2_000 });
  const { kv, watches } = silentFirstWatch(real, next(real));
  const seen: string[] = [];
  const mirror = await KvMirror.open<string>({
    nc, kv, bucket, log, what: 'test', timeoutMs: 10_000, lagCheckMs: 100, stuckAfterMs: 300,
    decode: (_k, v) => new TextDecoder().decode(v),
    onChange: (key, _prev, next) => void seen.push(`${key}=${next}`),
    ...more,
  });
  t.after(() => mirror.stop());
  return { real, mirror, seen, watches };
}

it('a watch that goes silent is replaced: a put still resolves, every value written meanwhile is mirrored', async (t) => {
  const { real, mirror, seen, watches } = await silentMirror(t, 'MIRROR_TEST', (real) => (opts) => real.watch(opts));

  await real.put('a', new TextEncoder().encode('1')); // written behind the mirror's back
  await mirror.put('b', new TextEncoder().encode('2')); // resolves only once mirrored
  assert.equal(mirror.get('a')?.value, '1');
  assert.equal(mirror.get('b')?.value, '2');
  assert.deepEqual(seen, ['a=1', 'b=2'], 'each once, in bucket order');
  assert.equal(mirror.stuckRestarts, 1);
  assert.equal(watches(), 2);
});

it('no new watch opens (placed on a dead node): the mirror reads what it missed from the stream, then ends after the bound and fails its writes', async (t) => {
  let ended!: (err?: Error) => void;
  const endedWith = new Promise<Error | undefined>((r) => (ended = r));
  const { real, mirror, seen, watches } = await silentMirror(t, 'MIRROR_LOST', () => () => Promise.reject(new Error('TIMEOUT')), {
    resumeGiveUpMs: 1_500,
    onEnded: (err) => ended(err),
  });

  await real.put('a', new TextEncoder().encode('1'));
  await mirror.put('b', new TextEncoder().encode('2')); // mirrored by reading the stream: no watch opens
  assert.deepEqual(seen, ['a=1', 'b=2'], 'each once, in bucket order');
  assert.equal(mirror.readEntries, 2);

  const err = await endedWith;
  assert.ok(err instanceof KvMirrorStalledError, String(err));
  assert.equal(err.bucket, 'MIRROR_LOST');
  assert.equal(err.applied, 2);
  assert.equal((err.cause as Error).message, 'TIMEOUT', 'the last watch attempt is the cause');
  assert.ok(watches() >= 2, 'a new watch was tried');
  // Fail closed: a write is no longer reported mirrored.
  await assert.rejects(mirror.put('c', new TextEncoder().encode('3')), KvMirrorStalledError);
});
