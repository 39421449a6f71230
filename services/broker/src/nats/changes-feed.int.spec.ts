// The change feed fails closed: a change that cannot be applied is retried, in order, until it
// applies (the feed reports itself blocked meanwhile); only a payload that breaks its contract is skipped.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { ConsumerMessages } from 'nats';
import { ChangeSubjects } from '@twoway/contracts';
import { Bus, MessageInvalidError } from '@twoway/nats';
import { NatsServer, waitFor } from '@twoway/testing';
import { ChangesFeed } from './changes-feed.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

it('a change that fails to apply blocks the feed and is retried until it applies; later changes wait for it', async (t) => {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  const bus = await Bus.connect({ servers: nats.url, name: 'feed-test', log });
  t.after(() => bus.stop());
  await bus.ensureStreams();

  let failuresLeft = 3;
  const applied: string[] = [];
  const blocked: boolean[] = [];
  const feed = await ChangesFeed.start({
    bus,
    log,
    retry: { firstDelayMs: 20, maxDelayMs: 100 },
    apply: async (_subject, data) => {
      const id = new TextDecoder().decode(data);
      if (id === 'poison') throw new MessageInvalidError(_subject, ['bad payload']);
      if (id === 'first' && failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('owner unreachable');
      }
      applied.push(id);
    },
    onBlocked: (b) => blocked.push(b),
    onEnded: () => undefined,
  });
  t.after(() => feed.stop());

  const js = bus.js;
  const first = await js.publish(ChangeSubjects.CertStatusChanged, new TextEncoder().encode('first'));
  await js.publish(ChangeSubjects.CertStatusChanged, new TextEncoder().encode('poison'));
  const last = await js.publish(ChangeSubjects.CertStatusChanged, new TextEncoder().encode('second'));

  await waitFor(() => blocked.length > 0, { what: 'the feed to report itself blocked' });
  assert.equal(feed.blocked, true);
  assert.ok(feed.processedSeq < first.seq, 'a change that did not apply is not counted as processed');
  await waitFor(() => feed.processedSeq >= last.seq, { what: 'the feed to catch up' });
  assert.deepEqual(applied, ['first', 'second'], 'retried until it applied, in order; the poison payload skipped');
  assert.equal(failuresLeft, 0);
  assert.deepEqual(blocked, [true, false]);
  assert.equal(feed.blocked, false);
});

it('a consumer that goes silent without missing heartbeats is noticed by the lag check and replaced: the change still applies', async (t) => {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  const bus = await Bus.connect({ servers: nats.url, name: 'feed-test', log });
  t.after(() => bus.stop());
  await bus.ensureStreams();

  // The first consumer delivers nothing and reports nothing until it is stopped; later ones are real.
  const silent = (): ConsumerMessages => {
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    const nothing = async function* () {
      await ended;
    };
    return { [Symbol.asyncIterator]: nothing, stop: () => end(), status: async () => nothing(), closed: () => ended } as unknown as ConsumerMessages;
  };
  let opened = 0;
  const applied: string[] = [];
  const feed = await ChangesFeed.start({
    bus,
    log,
    lagCheckMs: 100,
    stuckAfterMs: 300,
    openConsumer: (fromSeq, open) => (opened++ === 0 ? Promise.resolve(silent()) : open(fromSeq)),
    apply: async (_subject, data) => {
      applied.push(new TextDecoder().decode(data));
    },
    onEnded: () => undefined,
  });
  t.after(() => feed.stop());

  const ack = await bus.js.publish(ChangeSubjects.CertStatusChanged, new TextEncoder().encode('suspend-it'));
  await waitFor(() => feed.processedSeq >= ack.seq, { timeoutMs: 5_000, what: 'the change to apply through a new consumer' });
  assert.deepEqual(applied, ['suspend-it']);
  assert.equal(feed.stuckReopens, 1);
  assert.equal(opened, 2);
});
