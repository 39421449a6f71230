import { it } from 'node:test';
import { Type } from '@sinclair/typebox';
import assert from 'node:assert/strict';
import { NatsServer, waitFor } from '@twoway/testing';
import { ServiceMetrics } from '@twoway/telemetry';
import { Bus } from './client.js';
import { busMetrics } from './metrics.js';

it('regression: stop() returns when the NATS server is gone (a service must stop without it)', async () => {
  const nats = await NatsServer.start();
  let down = false;
  const bus = await Bus.connect({ servers: nats.url, name: 'stop-test', onStatus: (s) => (down = s === 'disconnected') });
  try {
    await nats.stop();
    await waitFor(() => down, { what: 'disconnect seen' });
    const t0 = Date.now();
    await bus.stop();
    assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
    assert.equal(bus.nc.isClosed(), true);
  } finally {
    await bus.stop();
    await nats.stop();
  }
});

it('tracing off: a given traceparent reaches the handler as sent (its trace id is in both services\' logs)', async (t) => {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  const bus = await Bus.connect({ servers: nats.url, name: 'trace-off' });
  t.after(() => bus.stop());
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  let seen: string | undefined;
  bus.serve('test.trace', Type.Object({}), (_req, ctx) => {
    seen = ctx.traceparent;
    return {};
  });
  await bus.request('test.trace', {}, Type.Object({}), { traceparent: tp });
  assert.equal(seen, tp);
});

it('given a subject with 1 request running and 1 waiting, further requests are answered OVERLOADED at once', async (t) => {
  const nats = await NatsServer.start();
  t.after(() => nats.stop());
  // A long request timeout: the queued request must not be shed for waiting while a loaded machine runs this.
  const server = await Bus.connect({ servers: nats.url, name: 'limited', requestTimeoutMs: 60_000, serveLimits: { maxConcurrent: 1, maxQueued: 1 } });
  t.after(() => server.stop());
  const client = await Bus.connect({ servers: nats.url, name: 'flood', requestTimeoutMs: 60_000 });
  t.after(() => client.stop());
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  server.serve('test.slow', Type.Object({ n: Type.Number() }), async ({ n }) => {
    started++;
    await gate;
    return { n };
  });
  await server.nc.flush(); // the subscription is on the server before the first request
  const reply = Type.Object({ n: Type.Number() });
  const outcomes = [1, 2, 3, 4].map((n) => client.request('test.slow', { n }, reply).then((r) => `ok ${r.n}`, (e: { code?: string }) => e.code ?? 'error'));
  // The two beyond the bound are refused while the first still holds its slot.
  await waitFor(() => (server.shed.get('test.slow') ?? 0) === 2, { what: 'two requests shed' });
  assert.equal(started, 1);
  // As /metrics shows it meanwhile: one running, one waiting, two shed, none answered yet.
  const metrics = new ServiceMetrics('unit');
  t.after(() => metrics.stop());
  busMetrics(metrics, server);
  const figures = async () => Object.fromEntries((await metrics.render()).split('\n').filter((l) => l.startsWith('twoway_nats_')).map((l) => l.split(' ')));
  assert.deepEqual(await figures(), {
    'twoway_nats_requests_served_total{subject="test.slow"}': '0',
    'twoway_nats_requests_shed_total{subject="test.slow"}': '2',
    'twoway_nats_requests_in_flight{subject="test.slow"}': '1',
    'twoway_nats_requests_queued{subject="test.slow"}': '1',
  });
  release();
  assert.deepEqual((await Promise.all(outcomes)).sort(), ['OVERLOADED', 'OVERLOADED', 'ok 1', 'ok 2']);
  assert.deepEqual(await figures(), {
    'twoway_nats_requests_served_total{subject="test.slow"}': '2',
    'twoway_nats_requests_shed_total{subject="test.slow"}': '2',
    'twoway_nats_requests_in_flight{subject="test.slow"}': '0',
    'twoway_nats_requests_queued{subject="test.slow"}': '0',
  });
});
