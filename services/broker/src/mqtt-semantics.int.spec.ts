// MQTT 3.1.1 behind the account mount, with real mqtt clients over mutual TLS: retained messages,
// persistent sessions, wills, unsubscribe and `$`-topics as a device sees them, and two accounts that
// use the same topics and client ids without ever seeing each other.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { waitFor } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { PASSWORD, settingsOf, startFixture, type Fixture } from './broker.fixture.js';
import { natsCluster, type RunningBroker } from './service.js';

interface Device {
  client: MqttClient;
  connack: IConnackPacket;
  got: IPublishPacket[];
}

describe('MQTT semantics behind the account mount', () => {
  let fx: Fixture;
  const devices: Record<string, Issued> = {};

  before(async () => {
    fx = await startFixture({}, { cluster: natsCluster });
    for (const acc of ['acc-a', 'acc-b']) {
      fx.accounts[acc] = settingsOf(false, true);
      fx.credentials.set(`dev-${acc}`, { accountId: acc, id: `cred-${acc}` });
      devices[acc] = await fx.pki.device(`dev-${acc}`);
    }
    fx.register('root', fx.pki.root, 'VALID');
  });
  after(async () => {
    await fx?.stop();
  });

  const open = (acc: string, clientId: string, o: Partial<IClientOptions> = {}, on: RunningBroker = fx.broker) =>
    new Promise<Device>((resolve, reject) => {
      const client = mqtt.connect(`mqtts://127.0.0.1:${on.mqttPort}`, {
        ca: fx.pki.root.certPem, servername: 'localhost', cert: devices[acc]!.chainPem, key: devices[acc]!.keyPem,
        clientId, username: `dev-${acc}`, password: PASSWORD, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...o,
      });
      const got: IPublishPacket[] = [];
      client.on('message', (_t, _p, packet) => got.push(packet));
      client.once('connect', (connack) => resolve({ client, connack, got }));
      client.once('error', reject);
    });
  const close = (d: Device) => new Promise<void>((r) => d.client.end(false, {}, () => r()));
  const drop = (d: Device) => new Promise<void>((r) => { d.client.once('close', () => r()); d.client.stream.destroy(); });
  const texts = (d: Device) => d.got.map((p) => `${p.topic}=${p.payload.toString()}${p.retain ? ' (retained)' : ''}`);
  const id = (p: string) => `${p}-${randomUUID().slice(0, 8)}`;

  it('retained messages: set, read by a later subscriber (exact and wildcard), overwritten, cleared; never by another account', async () => {
    const t = id('state');
    const pub = await open('acc-a', id('pub'));
    try {
      await pub.client.publishAsync(`${t}/temp`, '21', { qos: 1, retain: true });
      await pub.client.publishAsync(`${t}/hum`, '40', { qos: 0, retain: true });
      // QoS 0 has no acknowledgement: a QoS 1 round trip after it proves it was handled.
      await pub.client.publishAsync(`${t}/sync`, 'x', { qos: 1 });
      const exact = await open('acc-a', id('exact'));
      const wild = await open('acc-a', id('wild'));
      const other = await open('acc-b', id('other'));
      try {
        await exact.client.subscribeAsync(`${t}/temp`, { qos: 1 });
        await wild.client.subscribeAsync(`${t}/#`, { qos: 1 });
        await other.client.subscribeAsync(`${t}/#`, { qos: 1 });
        await waitFor(() => exact.got.length === 1 && wild.got.length === 2, { what: 'retained messages' });
        assert.deepEqual(texts(exact), [`${t}/temp=21 (retained)`]);
        assert.deepEqual(texts(wild).sort(), [`${t}/hum=40 (retained)`, `${t}/temp=21 (retained)`]);

        await pub.client.publishAsync(`${t}/temp`, '22', { qos: 1, retain: true });
        await pub.client.publishAsync(`${t}/hum`, '', { qos: 1, retain: true });
        const later = await open('acc-a', id('later'));
        try {
          await later.client.subscribeAsync(`${t}/#`, { qos: 1 });
          await waitFor(() => later.got.length >= 1, { what: 'the overwritten retained message' });
          await later.client.subscribeAsync('unrelated', { qos: 1 }); // a round trip: anything else would have arrived
          assert.deepEqual(texts(later), [`${t}/temp=22 (retained)`]);
        } finally {
          await close(later);
        }
        assert.deepEqual(other.got, [], 'another account saw a retained or live message');
      } finally {
        await Promise.all([close(exact), close(wild), close(other)]);
      }
    } finally {
      await close(pub);
    }
  });

  it('a persistent session keeps its subscription and receives QoS 1 and 2 messages sent while it was away', async () => {
    const cid = id('sleepy');
    const t = id('cmd');
    const first = await open('acc-a', cid, { clean: false });
    assert.equal(first.connack.sessionPresent, false);
    await first.client.subscribeAsync(`${t}/#`, { qos: 2 });
    await close(first);

    const pub = await open('acc-a', id('pub'));
    try {
      await pub.client.publishAsync(`${t}/1`, 'q1', { qos: 1 });
      await pub.client.publishAsync(`${t}/2`, 'q2', { qos: 2 });
      await pub.client.publishAsync(`${t}/0`, 'q0', { qos: 0 });
      const back = await open('acc-a', cid, { clean: false });
      try {
        assert.equal(back.connack.sessionPresent, true);
        await waitFor(() => back.got.length >= 2, { what: 'queued messages' });
        assert.deepEqual(texts(back), [`${t}/1=q1`, `${t}/2=q2`]);
        assert.deepEqual(back.got.map((p) => p.qos), [1, 2]);
        // The restored subscription also delivers live messages, without a new SUBSCRIBE.
        await pub.client.publishAsync(`${t}/live`, 'now', { qos: 1 });
        await waitFor(() => back.got.length === 3, { what: 'a live message on the restored subscription' });
        assert.equal(texts(back)[2], `${t}/live=now`);
      } finally {
        await close(back);
      }
    } finally {
      await close(pub);
    }
    // Clean start ends the session: nothing is present any more.
    const clean = await open('acc-a', cid, { clean: true });
    assert.equal(clean.connack.sessionPresent, false);
    await close(clean);
  });

  it('the same client id and topic in two accounts: two sessions, two queues, no crossing', async () => {
    const cid = id('twin');
    const t = id('twin-topic');
    for (const acc of ['acc-a', 'acc-b']) {
      const d = await open(acc, cid, { clean: false });
      await d.client.subscribeAsync(t, { qos: 1 });
      await close(d);
    }
    const pubA = await open('acc-a', id('pub'));
    await pubA.client.publishAsync(t, 'for-a', { qos: 1 });
    await close(pubA);
    const a = await open('acc-a', cid, { clean: false });
    const b = await open('acc-b', cid, { clean: false });
    try {
      assert.equal(a.connack.sessionPresent, true);
      assert.equal(b.connack.sessionPresent, true);
      await waitFor(() => a.got.length === 1, { what: 'the queued message in account a' });
      await b.client.subscribeAsync('round-trip', { qos: 1 });
      assert.deepEqual(texts(a), [`${t}=for-a`]);
      assert.deepEqual(texts(b), []);
    } finally {
      await Promise.all([close(a), close(b)]);
    }
  });

  it('a will is published to its own account only, on the topic the device chose', async () => {
    const t = id('presence');
    const watcher = await open('acc-a', id('watch'));
    const spy = await open('acc-b', id('spy'));
    try {
      await watcher.client.subscribeAsync(`${t}/#`, { qos: 1 });
      await spy.client.subscribeAsync('#', { qos: 1 });
      const dev = await open('acc-a', id('mortal'), { will: { topic: `${t}/dev`, payload: Buffer.from('offline'), qos: 1, retain: false } });
      await drop(dev);
      await waitFor(() => watcher.got.length === 1, { what: 'the will' });
      assert.deepEqual(texts(watcher), [`${t}/dev=offline`]);
      await spy.client.subscribeAsync('round-trip', { qos: 1 });
      assert.deepEqual(spy.got, []);
    } finally {
      await Promise.all([close(watcher), close(spy)]);
    }
  });

  it('unsubscribe stops delivery', async () => {
    const t = id('unsub');
    const sub = await open('acc-a', id('sub'));
    const pub = await open('acc-a', id('pub'));
    try {
      await sub.client.subscribeAsync(t, { qos: 1 });
      await pub.client.publishAsync(t, 'one', { qos: 1 });
      await waitFor(() => sub.got.length === 1, { what: 'first message' });
      await sub.client.unsubscribeAsync(t);
      await pub.client.publishAsync(t, 'two', { qos: 1 });
      await sub.client.subscribeAsync('round-trip', { qos: 1 });
      await pub.client.publishAsync('round-trip', 'marker', { qos: 1 });
      await waitFor(() => sub.got.length === 2, { what: 'the marker' });
      assert.deepEqual(texts(sub), [`${t}=one`, 'round-trip=marker']);
    } finally {
      await Promise.all([close(sub), close(pub)]);
    }
  });

  it('[MQTT-4.7.2-1] `#` and `+/…` do not match `$`-topics; a filter naming the `$` level does', async () => {
    const sharp = await open('acc-a', id('sharp'));
    const dollar = await open('acc-a', id('dollar'));
    const pub = await open('acc-a', id('pub'));
    try {
      await sharp.client.subscribeAsync(['#', '+/+'], { qos: 1 });
      await dollar.client.subscribeAsync('$events/#', { qos: 1 });
      await pub.client.publishAsync('$events/x', 'd', { qos: 1 });
      await pub.client.publishAsync('plain/x', 'p', { qos: 1 });
      await waitFor(() => dollar.got.length === 1 && sharp.got.length >= 1, { what: 'deliveries' });
      await sharp.client.subscribeAsync('round-trip', { qos: 1 });
      assert.deepEqual(texts(dollar), ['$events/x=d']);
      // `#` also brings the account's retained messages of earlier tests: only live ones matter here.
      assert.deepEqual(texts(sharp).filter((x) => !x.endsWith('(retained)')), ['plain/x=p']);
    } finally {
      await Promise.all([close(sharp), close(dollar), close(pub)]);
    }
  });

  it('an MQTT 5 CONNECT is refused with unsupported protocol version, audited PROTOCOL_UNSUPPORTED and logged', async () => {
    const cid = id('v5');
    const err = await open('acc-a', cid, { protocolVersion: 5 }).then(
      (d) => { d.client.end(true); return undefined; },
      (e: Error & { code?: number }) => e,
    );
    assert.ok(err, 'an MQTT 5 client was accepted');
    // aedes answers in MQTT 3.1.1 form: return code 1, which MQTT 5 clients report as unsupported protocol version.
    assert.equal(err.code, 1, err.message);
    assert.match(err.message, /Unacceptable protocol version/);
    const ev = await fx.auditFor(cid, 'connect.rejected');
    assert.equal(ev.reason, 'PROTOCOL_UNSUPPORTED');
    assert.equal(ev.detail?.protocolVersion, 5);
    assert.equal(ev.detail?.returnCode, 1);
  });
});
