// Topic permissions end to end (docs/permissions.md): an operator sets an account's rules over REST;
// real devices (the mqtt package, mosquitto_pub/mosquitto_sub) over real mutual TLS are allowed and
// refused by them, with `${username}`, `${cn}` and `${clientId}` standing for each device; a refusal is
// audited with its reason; a rule change reaches live sessions on two broker replicas at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { TopicRule } from '@twoway/contracts';
import { System, makeTestPki, tempDir, waitFor } from '@twoway/testing';
import { mosquittoPub, mosquittoSub, tryConnect } from './support/mqtt.js';
import { Operator, type AuditItem } from './support/operator.js';

const password = 'topic-rules-password';
const AUDITED_PER_MINUTE = 3;
const RULES: TopicRule[] = [
  { effect: 'deny', action: 'both', filter: 'devices/${clientId}/admin/#' },
  { effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' },
  { effect: 'allow', action: 'publish', filter: 'telemetry/${username}' },
  { effect: 'allow', action: 'subscribe', filter: 'telemetry/#' },
  { effect: 'allow', action: 'subscribe', filter: 'fleet/${cn}/config' },
  { effect: 'allow', action: 'both', filter: 'broadcast/#' },
];

describe('topic permissions end to end', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let account: string;
  let ca: string;
  let replica2: Awaited<ReturnType<System['startBrokerReplica']>>;
  // Devices: username → certificate CN.
  const certs: Record<string, { pem: string; key: string; pemFile: string; keyFile: string }> = {};
  const clients: MqttClient[] = [];

  before(async () => {
    dir = await tempDir('twoway-topic-rules-');
    sys = await System.start({ env: { TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE: String(AUDITED_PER_MINUTE) } });
    op = new Operator(sys);
    ca = await readFile(sys.caFile, 'utf8');
    const pki = await makeTestPki({ fresh: true });
    account = await op.account('rules-fleet');
    await op.register(account, 'fleet root', pki.root.certPem);
    for (const [user, cn] of [['alice', 'sensor-1'], ['bob', 'sensor-2'], ['carol', 'sensor-3']] as const) {
      await op.credential(account, user, password);
      const d = await pki.device(cn);
      const pemFile = join(dir.path, `${user}.pem`);
      const keyFile = join(dir.path, `${user}.key`);
      await writeFile(pemFile, d.chainPem, { mode: 0o600 });
      await writeFile(keyFile, d.keyPem, { mode: 0o600 });
      certs[user] = { pem: d.chainPem, key: d.keyPem, pemFile, keyFile };
    }
    const put = await sys.api<{ rules: TopicRule[] }>('PUT', `/api/v1/accounts/${account}/topic-rules`, { rules: RULES });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(put.body.rules, RULES);
    replica2 = await sys.startBrokerReplica({ TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE: String(AUDITED_PER_MINUTE) });
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await replica2?.proc.stop();
    await sys?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  const device = async (user: string, clientId: string, port = sys.mqttPort) => {
    const r = await tryConnect(port, { ca, cert: certs[user]!.pem, key: certs[user]!.key }, { clientId, username: user, password });
    assert.equal(r.connected, true, r.error);
    clients.push(r.client!);
    return r.client!;
  };
  /** A device with CONNECT options of its own (a will, a persistent session). */
  const deviceWith = async (user: string, clientId: string, opts: IClientOptions) => {
    const c = await connectAsync({
      protocol: 'mqtts', host: '127.0.0.1', port: sys.mqttPort, servername: 'localhost', ca, cert: certs[user]!.pem, key: certs[user]!.key,
      clientId, username: user, password, protocolVersion: 4, reconnectPeriod: 0, ...opts,
    });
    clients.push(c);
    return c;
  };
  /** A persistent session (clean session 0): its subscriptions and queue outlive the connection. */
  const persistentDevice = (user: string, clientId: string) => deviceWith(user, clientId, { clean: false });
  const nextMessage = (c: MqttClient, topic: string) =>
    new Promise<string>((resolve) => {
      const on = (t: string, p: Buffer) => {
        if (t !== topic) return;
        c.off('message', on);
        resolve(p.toString());
      };
      c.on('message', on);
    });
  const denials = (clientId: string) => waitFor(async () => {
    const items = await op.audit(account, { type: 'session.topic_denied', clientId });
    return items.length ? items : undefined;
  }, { what: `topic denials of ${clientId} audited`, timeoutMs: 15_000 });
  const denialOf = async (clientId: string, topic: string): Promise<AuditItem> =>
    waitFor(async () => (await op.audit(account, { type: 'session.topic_denied', clientId })).find((e) => (e.detail as { topic?: string }).topic === topic), { what: `denial of ${topic} by ${clientId}`, timeoutMs: 15_000 });

  it('refuses rules that are not MQTT topic filters, and changes nothing', async () => {
    const r = await sys.api<{ error: { code: string; message: string } }>('PUT', `/api/v1/accounts/${account}/topic-rules`, { rules: [{ effect: 'allow', action: 'both', filter: 'a/${serial}' }] });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'TOPIC_RULES_INVALID');
    assert.match(r.body.error.message, /rules\[0\]\.filter: unknown placeholder '\$\{serial\}'/);
    assert.deepEqual((await sys.api<{ rules: TopicRule[] }>('GET', `/api/v1/accounts/${account}/topic-rules`)).body.rules, RULES);
  });

  it('allows by client id and username, refuses the rest without disconnecting, and audits why (mqtt package)', async () => {
    const alice = await device('alice', 'dev-1');
    const bob = await device('bob', 'watcher-1');
    await alice.subscribeAsync('devices/dev-1/data', { qos: 1 });
    await bob.subscribeAsync('telemetry/#', { qos: 1 });

    // ${clientId}: its own subtree, a round trip.
    const own = nextMessage(alice, 'devices/dev-1/data');
    await alice.publishAsync('devices/dev-1/data', 'mine', { qos: 1 });
    assert.equal(await own, 'mine');

    // ${username}: alice publishes as alice, not as bob. The refused PUBLISH is acknowledged
    // (publishAsync resolves) and dropped; the connection stays, and the next message is the allowed one.
    const seen = nextMessage(bob, 'telemetry/alice');
    const stray: string[] = [];
    bob.on('message', (t) => t === 'telemetry/bob' && stray.push(t));
    await alice.publishAsync('telemetry/bob', 'spoofed', { qos: 1 });
    await alice.publishAsync('telemetry/alice', '21.5', { qos: 1 });
    assert.equal(await seen, '21.5');
    assert.deepEqual(stray, []);
    assert.equal(alice.connected, true);

    // A deny rule before the allow: the first match wins.
    await alice.publishAsync('devices/dev-1/admin/reboot', 'x', { qos: 1 });
    // Someone else's subtree: no rule allows it; nor a subscription that could receive the admin topics.
    await assert.rejects(alice.subscribeAsync('devices/dev-2/#', { qos: 1 }), refusedWith128);
    await assert.rejects(alice.subscribeAsync('devices/dev-1/#', { qos: 1 }), refusedWith128);

    const spoof = await denialOf('dev-1', 'telemetry/bob');
    assert.equal(spoof.reason, 'TOPIC_NOT_ALLOWED');
    assert.equal(spoof.outcome, 'rejected');
    assert.deepEqual(spoof.detail, { action: 'publish', topic: 'telemetry/bob' });
    assert.equal(spoof.device?.username, 'alice');
    const admin = await denialOf('dev-1', 'devices/dev-1/admin/reboot');
    assert.equal(admin.reason, 'TOPIC_DENIED');
    assert.deepEqual(admin.detail, { action: 'publish', topic: 'devices/dev-1/admin/reboot', rule: 0 });
    const sub = await denialOf('dev-1', 'devices/dev-2/#');
    assert.deepEqual([sub.reason, (sub.detail as { action: string }).action], ['TOPIC_NOT_ALLOWED', 'subscribe']);
  });

  it('substitutes the verified certificate CN: fleet/sensor-3/config for the sensor-3 certificate only', async () => {
    const carol = await device('carol', 'dev-3');
    const granted = await carol.subscribeAsync('fleet/sensor-3/config', { qos: 1 });
    assert.deepEqual(granted.map((g) => g.qos), [1]);
    await assert.rejects(carol.subscribeAsync('fleet/sensor-1/config', { qos: 1 }), refusedWith128);
  });

  it('a will the rules refuse is dropped at CONNECT and audited as a refused PUBLISH', async () => {
    await deviceWith('alice', 'will-1', { will: { topic: 'telemetry/bob', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const ev = await denialOf('will-1', 'telemetry/bob');
    assert.deepEqual([ev.reason, (ev.detail as { action: string }).action], ['TOPIC_NOT_ALLOWED', 'publish']);
  });

  it('a client id holding `/` does not reach into another device\'s topics through ${clientId}', async () => {
    const c = await device('carol', 'dev-1/x');
    await c.publishAsync('devices/dev-1/x/data', 'sneaky', { qos: 1 });
    const ev = await denialOf('dev-1/x', 'devices/dev-1/x/data');
    assert.equal(ev.reason, 'TOPIC_NOT_ALLOWED');
  });

  it('audits at most TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE denials a session, and counts them all', async () => {
    const before = await deniedCount(sys.brokerHttpUrl);
    const c = await device('bob', 'flooder');
    for (let i = 0; i < 10; i++) await c.publishAsync(`forbidden/${i}`, 'x', { qos: 1 });
    // Counted before the PUBLISH is acknowledged.
    assert.equal((await deniedCount(sys.brokerHttpUrl)) - before, 10);
    // A later denial of another session, audited after the flood's: once it is stored, so is all of the flood's.
    const marker = await device('bob', 'flood-marker');
    await marker.publishAsync('forbidden/marker', 'x', { qos: 1 });
    await denialOf('flood-marker', 'forbidden/marker');
    const items = await denials('flooder');
    assert.deepEqual(items.map((e) => (e.detail as { topic: string }).topic).sort(), ['forbidden/0', 'forbidden/1', 'forbidden/2']);
    assert.equal(AUDITED_PER_MINUTE, 3);
  });

  it('mosquitto_sub and mosquitto_pub: a refused PUBLISH is acknowledged and dropped, an allowed one delivered; a refused SUBSCRIBE is answered 128', async () => {
    const f = { caFile: sys.caFile, certFile: certs.alice!.pemFile, keyFile: certs.alice!.keyFile };
    const as = (clientId: string) => ({ clientId, username: 'alice', password });
    // Exits after one message: were the refused one delivered, it would be that one.
    const sub = mosquittoSub(sys.mqttPort, f, as('mosq-sub'), 'telemetry/#', 1);
    try {
      await sub.ready;
      const spoof = await mosquittoPub(sys.mqttPort, f, as('mosq-pub-1'), 'telemetry/bob', 'spoofed');
      assert.equal(spoof.code, 0, `acknowledged, not refused: ${spoof.output}`);
      const own = await mosquittoPub(sys.mqttPort, f, as('mosq-pub-2'), 'telemetry/alice', 'hello-mosquitto');
      assert.equal(own.code, 0, own.output);
      const out = (await sub.exited).output;
      assert.match(out, /hello-mosquitto/);
      assert.doesNotMatch(out, /spoofed/);
    } finally {
      await sub.stop();
    }
    const refused = await denialOf('mosq-pub-1', 'telemetry/bob');
    assert.deepEqual([refused.reason, refused.device?.username], ['TOPIC_NOT_ALLOWED', 'alice']);

    const other = mosquittoSub(sys.mqttPort, f, as('mosq-3'), 'devices/mosq-4/in', 1);
    const { output } = await other.exited;
    assert.match(output, /Subscribed \(mid: \d+\): 128/);
    assert.match(output, /All subscription requests were denied/);
    const ev = await denialOf('mosq-3', 'devices/mosq-4/in');
    assert.deepEqual([ev.reason, (ev.detail as { action: string }).action], ['TOPIC_NOT_ALLOWED', 'subscribe']);
  });

  it('a rule change reaches live sessions on every replica: forbidden subscriptions end their session, the rest obey at once', async () => {
    const alice = await device('alice', 'live-1');
    const watcher = await device('bob', 'live-watcher');
    const remote = await device('bob', 'live-remote', replica2.mqttPort);
    await alice.subscribeAsync('devices/live-1/cmd', { qos: 1 });
    await watcher.subscribeAsync('broadcast/#', { qos: 1 });
    await remote.subscribeAsync('broadcast/#', { qos: 1 });
    await watcher.subscribeAsync('telemetry/#', { qos: 1 });
    const closed = (c: MqttClient) => new Promise<void>((r) => c.once('close', () => r()));
    const watcherClosed = closed(watcher);
    const remoteClosed = closed(remote);
    let aliceClosed = false;
    alice.once('close', () => (aliceClosed = true));
    // A persistent session, offline during the change, with a message queued for broadcast/#.
    const away = await persistentDevice('carol', 'persist-1');
    await away.subscribeAsync('broadcast/#', { qos: 1 });
    await away.endAsync();
    await watcher.publishAsync('broadcast/queued', 'for the offline session', { qos: 1 });

    // broadcast/# and telemetry/alice go; everything else stays.
    const next = RULES.filter((r) => r.filter !== 'broadcast/#' && r.filter !== 'telemetry/${username}');
    const put = await sys.api('PUT', `/api/v1/accounts/${account}/topic-rules`, { rules: next });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await within(Promise.all([watcherClosed, remoteClosed]), 15_000, 'the sessions subscribed to broadcast/# ended on both replicas');

    for (const clientId of ['live-watcher', 'live-remote']) {
      const ended = await waitFor(async () => (await op.audit(account, { type: 'session.ended', clientId })).at(0), { what: `session.ended of ${clientId}`, timeoutMs: 15_000 });
      assert.equal(ended.reason, 'SESSION_TOPIC_RULES_CHANGED');
      assert.deepEqual((ended.detail as { filters: string[] }).filters, ['broadcast/#']);
    }
    // alice held only allowed subscriptions: still connected, still receiving, and its publish rights changed under it.
    assert.equal(aliceClosed, false);
    const cmd = nextMessage(alice, 'devices/live-1/cmd');
    await alice.publishAsync('devices/live-1/cmd', 'still here', { qos: 1 });
    assert.equal(await cmd, 'still here');
    await alice.publishAsync('telemetry/alice', 'now refused', { qos: 1 });
    assert.equal((await denialOf('live-1', 'telemetry/alice')).reason, 'TOPIC_NOT_ALLOWED');

    // The persistent session comes back: its stored broadcast/# is not restored, the queued message is withheld.
    const withheldBefore = await metric(sys.brokerHttpUrl, 'twoway_broker_topic_deliveries_withheld_total');
    const back1 = await persistentDevice('carol', 'persist-1');
    const got: string[] = [];
    back1.on('message', (t) => got.push(t));
    await waitFor(async () => (await metric(sys.brokerHttpUrl, 'twoway_broker_topic_deliveries_withheld_total')) > withheldBefore, { what: 'the queued broadcast withheld', timeoutMs: 15_000 });
    const restored = await denialOf('persist-1', 'broadcast/#');
    assert.deepEqual([restored.reason, (restored.detail as { action: string }).action], ['TOPIC_NOT_ALLOWED', 'subscribe']);
    const own = nextMessage(back1, 'devices/persist-1/after');
    await back1.subscribeAsync('devices/persist-1/after', { qos: 1 });
    await back1.publishAsync('devices/persist-1/after', 'x', { qos: 1 });
    await own;
    assert.deepEqual(got, ['devices/persist-1/after']);

    // The watcher comes back: its SUBSCRIBE to broadcast/# is refused now.
    const back = await device('bob', 'live-watcher');
    await assert.rejects(back.subscribeAsync('broadcast/#', { qos: 1 }), refusedWith128);
  });

  it('an empty list gives devices the whole namespace again', async () => {
    const put = await sys.api('PUT', `/api/v1/accounts/${account}/topic-rules`, { rules: [] });
    assert.equal(put.status, 200);
    const settings = await sys.api<Record<string, unknown>>('GET', `/api/v1/accounts/${account}/settings`);
    assert.equal('topicRules' in settings.body, false);
    const c = await device('bob', 'free-1');
    await c.subscribeAsync('anything/#', { qos: 1 });
    const got = nextMessage(c, 'anything/at/all');
    await c.publishAsync('anything/at/all', 'free', { qos: 1 });
    assert.equal(await got, 'free');
  });
});

/** `p`, or a failure naming what did not happen within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(t);
  }
}

/** The SUBACK answered 0x80 (failure) for the one filter asked (mqtt.js rejects with the SUBACK packet). */
const refusedWith128 = (e: Error & { packet?: { granted?: number[] } }): boolean => JSON.stringify(e.packet?.granted) === '[128]';

/** The sum of a counter's series on a broker's /metrics. */
async function metric(brokerHttpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${brokerHttpUrl}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))) n += Number(m[1]);
  return n;
}
const deniedCount = (brokerHttpUrl: string) => metric(brokerHttpUrl, 'twoway_broker_topic_denials_total');
