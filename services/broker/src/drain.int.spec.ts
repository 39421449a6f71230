// Graceful drain of a replica (what SIGTERM runs): readiness goes false and accepting stops at once,
// the live sessions end gradually over the window, each audited BROKER_DRAINING, and wills are kept
// rather than published: a device that does not come back has its will published by a surviving
// replica once the drained one is gone.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { PASSWORD, settingsOf, startFixture, type Fixture } from './broker.fixture.js';
import { WILL_PUBLISH_BOUND_MS } from './cluster/index.js';
import { natsCluster } from './service.js';

describe('graceful drain', () => {
  let fx: Fixture;
  let device: Issued;

  before(async () => {
    fx = await startFixture({ TWOWAY_DRAIN_WINDOW_MS: '1500' }, { cluster: natsCluster });
    fx.accounts['acc-d'] = settingsOf(false, true);
    fx.credentials.set('dev-d', { accountId: 'acc-d', id: 'cred-d' });
    fx.register('root', fx.pki.root, 'VALID');
    device = await fx.pki.device('dev-d');
  });
  after(async () => {
    await fx?.stop();
  });

  const open = (port: number, clientId: string, will?: { topic: string; payload: Buffer; qos: 0; retain: false }) =>
    new Promise<MqttClient>((resolve, reject) => {
      const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
        ca: fx.pki.root.certPem, servername: 'localhost', cert: device.chainPem, key: device.keyPem,
        clientId, username: 'dev-d', password: PASSWORD, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...(will ? { will } : {}),
      });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });

  it('stops accepting, ends sessions spread over the window with BROKER_DRAINING, keeps wills unpublished', async () => {
    const windowMs = 1_500;
    const drainer = await fx.startReplica('broker-drain');
    const n = 40;
    const prefix = `drain-${randomUUID().slice(0, 6)}`;
    const watcher = await open(fx.broker.mqttPort, `${prefix}-watch`);
    const got: string[] = [];
    watcher.on('message', (t) => got.push(t));
    await watcher.subscribeAsync(`${prefix}/#`, { qos: 0 });
    const clients: MqttClient[] = [];
    for (let i = 0; i < n; i++) clients.push(await open(drainer.mqttPort, `${prefix}-${i}`, { topic: `${prefix}/will/${i}`, payload: Buffer.from('gone'), qos: 0, retain: false }));
    const closedAt: number[] = [];
    for (const c of clients) c.once('close', () => closedAt.push(Date.now()));
    try {
      assert.equal(drainer.ready(), true);
      const t0 = Date.now();
      const drained = drainer.drain();
      assert.equal(drainer.ready(), false, 'readiness must go false as the drain starts');
      await drained;
      await waitFor(() => closedAt.length === n, { what: 'every session closed' });
      // Refused at the TCP level: the listener no longer accepts.
      const refused = await open(drainer.mqttPort, `${prefix}-late`).then((c) => { c.end(true); return false; }, () => true);
      assert.equal(refused, true, 'a connect was accepted during the drain');
      const spread = Math.max(...closedAt) - Math.min(...closedAt);
      assert.ok(spread >= 500, `sessions ended over ${spread} ms: not spread`);
      assert.ok(Math.max(...closedAt) - t0 < windowMs + 2_000, 'the drain overran its window');
      const ended = await waitFor(() => {
        const ev = fx.audit.filter((e) => e.type === 'session.ended' && e.device?.clientId?.startsWith(`${prefix}-`));
        return ev.length === n ? ev : undefined;
      }, { what: 'a session.ended event per drained session' });
      assert.deepEqual([...new Set(ended.map((e) => e.reason))], ['BROKER_DRAINING']);
      await watcher.subscribeAsync('round-trip', { qos: 1 });
      assert.deepEqual(got.filter((t) => t.includes('/will/')), [], 'a will was published by the drain');

      // The devices never come back and the drained replica stops: the surviving replica publishes
      // their wills within the declared bound.
      const stoppedAt = Date.now();
      await drainer.stop();
      await waitFor(() => got.filter((t) => t.includes('/will/')).length === n, { timeoutMs: WILL_PUBLISH_BOUND_MS + 5_000, what: 'every will, from the surviving replica' });
      const tookMs = Date.now() - stoppedAt;
      assert.ok(tookMs <= WILL_PUBLISH_BOUND_MS, `wills published ${tookMs} ms after the replica stopped (bound ${WILL_PUBLISH_BOUND_MS} ms)`);
      assert.equal(new Set(got.filter((t) => t.includes('/will/'))).size, n, 'a will was published twice');
    } finally {
      for (const c of clients) c.end(true);
      watcher.end(true);
    }
  });
});
