// Replicas of the streams and KV buckets on a real 3-node JetStream cluster: created with the
// setting, raised when it is higher, never lowered by a start with a lower setting.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Streams } from '@twoway/contracts';
import { NatsCluster, NatsServer, waitFor } from '@twoway/testing';
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

/** What a start logs each time JetStream does not answer and it tries again (forming.ts). */
const RETRYING = 'JetStream not ready yet (cluster forming?): trying again';

it('a start while the cluster has no JetStream quorum waits for it instead of failing (services started with NATS)', async (t) => {
  const cluster = await NatsCluster.start();
  t.after(() => cluster.stop());
  // Two of three nodes away: no meta leader, so every JetStream API call times out or has no responder.
  await cluster.killNode(1);
  await cluster.killNode(2);
  const waited: string[] = [];
  const bus = await Bus.connect({
    servers: cluster.urlOf(0), name: 'forming', startTimeoutMs: 60_000, requestTimeoutMs: 1000,
    log: { warn: (_o, m) => waited.push(m), error: () => undefined },
  });
  t.after(() => bus.stop());
  const started = bus.ensureStreams({ replicas: 3 });
  let settled = false;
  void started.then(() => (settled = true), () => (settled = true));
  // At least one attempt fails (a JetStream API request times out) and is tried again: the start says so
  // (or, broken, it settles first).
  await waitFor(() => settled || waited.includes(RETRYING), { timeoutMs: 30_000, what: `"${RETRYING}" in the log` });
  assert.equal(settled, false, 'no answer without quorum: still waiting, not failed');
  await cluster.restartNode(1);
  await cluster.restartNode(2);
  await started;
  assert.equal(await replicasOf(bus, Streams.Changes.name), 3);
});

it('a start gives up after TWOWAY_NATS_START_TIMEOUT_MS with the JetStream error', async (t) => {
  const cluster = await NatsCluster.start();
  t.after(() => cluster.stop());
  await cluster.killNode(1);
  await cluster.killNode(2);
  const bus = await Bus.connect({ servers: cluster.urlOf(0), name: 'forming-timeout', startTimeoutMs: 3000, requestTimeoutMs: 500, log: { warn: () => undefined, error: () => undefined } });
  t.after(() => bus.stop());
  const t0 = Date.now();
  await assert.rejects(bus.ensureStreams({ replicas: 3 }), (e: { code?: string; message?: string }) => e.code === 'TIMEOUT' || e.code === '503' || /timeout|unavailable/i.test(String(e.message)));
  assert.ok(Date.now() - t0 < 15_000);
});
