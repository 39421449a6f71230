import { it } from 'node:test';
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
