// Replicas of the streams and KV buckets on a real 3-node JetStream cluster: created with the
// setting, raised when it is higher, never lowered by a start with a lower setting.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Streams } from '@twoway/contracts';
import { NatsCluster, NatsServer } from '@twoway/testing';
import { Bus } from './client.js';
import { ensureStreamReplicas, kvStreamName } from './replicas.js';

const replicasOf = async (bus: Bus, stream: string) => (await (await bus.jsm()).streams.info(stream)).config.num_replicas;

describe('stream replicas on a 3-node cluster', () => {
  let cluster: NatsCluster;
  let bus: Bus;
  const logged: string[] = [];
  const log = { info: (_o: object, m: string) => logged.push(m), warn: (_o: object, m: string) => logged.push(m), error: (_o: object, m: string) => logged.push(m) };

  before(async () => {
    cluster = await NatsCluster.start();
    bus = await Bus.connect({ servers: cluster.url, name: 'replicas-test', log });
  });
  after(async () => {
    await bus?.stop();
    await cluster?.stop();
  });

  it('creates R1 by default, raises to R3 when the setting is 3, keeps R3 when a start says 1', async () => {
    await bus.ensureStreams();
    assert.deepEqual([await replicasOf(bus, Streams.Audit.name), await replicasOf(bus, Streams.Changes.name)], [1, 1]);
    await bus.ensureStreams({ replicas: 3 });
    assert.deepEqual([await replicasOf(bus, Streams.Audit.name), await replicasOf(bus, Streams.Changes.name)], [3, 3]);
    assert.ok(logged.includes('stream replicas raised'));
    await bus.ensureStreams({ replicas: 1, auditMaxAgeMs: 3_600_000 });
    const audit = await (await bus.jsm()).streams.info(Streams.Audit.name);
    assert.equal(audit.config.num_replicas, 3, 'a start with a lower setting does not downgrade');
    assert.equal(audit.config.max_age, 3_600_000 * 1_000_000, 'the other limits are still applied');
    assert.ok(logged.includes('stream has more replicas than the setting; kept'));
  });

  it('a KV bucket: created with the count the helper returns, raised later, never lowered', async () => {
    const bucket = 'replicas_test_kv';
    const created = await ensureStreamReplicas(bus.nc, kvStreamName(bucket), 1, log);
    assert.deepEqual(created, { action: 'create', replicas: 1 });
    await bus.js.views.kv(bucket, { history: 1, replicas: created.replicas });
    assert.equal(await replicasOf(bus, kvStreamName(bucket)), 1);
    assert.deepEqual(await ensureStreamReplicas(bus.nc, kvStreamName(bucket), 3, log), { action: 'raise', replicas: 3, current: 1 });
    assert.equal(await replicasOf(bus, kvStreamName(bucket)), 3);
    assert.deepEqual(await ensureStreamReplicas(bus.nc, kvStreamName(bucket), 1, log), { action: 'keep', replicas: 3, current: 3 });
    assert.equal(await replicasOf(bus, kvStreamName(bucket)), 3);
    const kv = await bus.js.views.kv(bucket, { history: 1, replicas: 1 });
    await kv.put('k', 'v');
    assert.equal((await kv.get('k'))?.string(), 'v');
  });
});

it('a single nats-server: a setting of 3 keeps an existing R1 stream working instead of failing the start', async (t) => {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  const warned: string[] = [];
  const bus = await Bus.connect({ servers: nats.url, name: 'single', log: { warn: (_o, m) => warned.push(m), error: () => undefined } });
  t.after(() => bus.stop());
  await bus.ensureStreams();
  await bus.ensureStreams({ replicas: 3 });
  assert.equal(await replicasOf(bus, Streams.Changes.name), 1);
  assert.ok(warned.length > 0, 'the operator is told');
});
