import { it } from 'node:test';
import { Type } from '@sinclair/typebox';
import assert from 'node:assert/strict';
import { NatsServer, waitFor } from '@twoway/testing';
import { Bus } from './client.js';

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
