// A mirror whose watch goes silent without ending (as after a NATS node kill) notices by comparing
// itself with the bucket, watches again from the next revision, and loses nothing written meanwhile.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type KV, type KvEntry, type QueuedIterator } from 'nats';
import { pino } from 'pino';
import { NatsServer } from '@twoway/testing';
import { KvMirror } from './kv-mirror.js';
import { openKv } from './jetstream.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

it('a watch that goes silent is replaced: a put still resolves, every value written meanwhile is mirrored', async (t) => {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const real = await openKv(nc, 'MIRROR_TEST', { replicas: 1, timeout: 2_000 });
  // The first watch reports the (empty) bucket initialised, then delivers nothing until stopped.
  let watches = 0;
  const kv = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop !== 'watch') return Reflect.get(target, prop, receiver) as unknown;
      return async (opts: Parameters<KV['watch']>[0]) => {
        if (watches++ > 0) return target.watch(opts);
        opts?.initializedFn?.();
        let end!: () => void;
        const ended = new Promise<void>((r) => (end = r));
        return { [Symbol.asyncIterator]: async function* () { await ended; }, stop: () => end() } as unknown as QueuedIterator<KvEntry>;
      };
    },
  });
  const seen: string[] = [];
  const mirror = await KvMirror.open<string>({
    nc, kv, bucket: 'MIRROR_TEST', log, what: 'test', timeoutMs: 10_000, lagCheckMs: 100, stuckAfterMs: 300,
    decode: (_k, v) => new TextDecoder().decode(v),
    onChange: (key, _prev, next) => void seen.push(`${key}=${next}`),
  });
  t.after(() => mirror.stop());

  await real.put('a', new TextEncoder().encode('1')); // written behind the mirror's back
  await mirror.put('b', new TextEncoder().encode('2')); // resolves only once mirrored
  assert.equal(mirror.get('a')?.value, '1');
  assert.equal(mirror.get('b')?.value, '2');
  assert.deepEqual(seen, ['a=1', 'b=2'], 'each once, in bucket order');
  assert.equal(mirror.stuckRestarts, 1);
  assert.equal(watches, 2);
});
