import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JetStreamManager, StreamConfig } from 'nats';
import { ensureStream, refusalOf } from './jetstream.js';

/** A stream manager holding one stream (or none), recording updates. */
function manager(existing?: Partial<StreamConfig>) {
  const calls: { op: string; config: Partial<StreamConfig> }[] = [];
  const jsm = {
    streams: {
      async info(name: string) {
        if (!existing) throw new Error('stream not found');
        return { config: { name, ...existing } };
      },
      async add(config: Partial<StreamConfig>) {
        calls.push({ op: 'add', config });
      },
      async update(_name: string, config: Partial<StreamConfig>) {
        calls.push({ op: 'update', config });
      },
    },
  } as unknown as JetStreamManager;
  return { jsm, calls };
}

describe('ensureStream', () => {
  it('creates a missing stream with the replicas asked for', async () => {
    const { jsm, calls } = manager();
    await ensureStream(jsm, { name: 'S', num_replicas: 3 });
    assert.deepEqual(calls, [{ op: 'add', config: { name: 'S', num_replicas: 3 } }]);
  });

  it('never lowers the replicas of an existing stream', async () => {
    const { jsm, calls } = manager({ num_replicas: 3, max_age: 5 });
    await ensureStream(jsm, { name: 'S', num_replicas: 1 });
    assert.deepEqual(calls, []);
  });

  it('raises lower replicas and applies changed limits, keeping the rest', async () => {
    const { jsm, calls } = manager({ num_replicas: 1, max_msgs_per_subject: 10, max_age: 5 });
    await ensureStream(jsm, { name: 'S', num_replicas: 3, max_msgs_per_subject: 20, max_age: 7 }, ['max_msgs_per_subject']);
    assert.deepEqual(calls, [{ op: 'update', config: { name: 'S', num_replicas: 3, max_msgs_per_subject: 20, max_age: 5 } }]);
  });
});

describe('which bound refused a queued packet', () => {
  const api = (err_code: number, description: string) => ({ api_error: { code: 503, err_code, description } });
  const cases: [string, unknown, string | undefined][] = [
    ['messages per session', api(10077, 'maximum messages per subject exceeded'), 'QUEUE_FULL'],
    ['packet too large', api(10054, 'message size exceeds maximum allowed'), 'QUEUE_BYTES'],
    ['stream byte cap', api(10077, 'maximum bytes exceeded'), 'QUEUE_BYTES'],
    ['NATS max_payload', { code: 'MAX_PAYLOAD_EXCEEDED' }, 'QUEUE_BYTES'],
    ['a timeout is no bound', new Error('TIMEOUT'), undefined],
  ];
  for (const [what, err, reason] of cases) it(`${what}: ${reason ?? 'not a refusal'}`, () => assert.equal(refusalOf(err), reason));
});
