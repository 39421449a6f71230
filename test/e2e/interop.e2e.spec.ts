// Client interoperability: three real MQTT clients (Eclipse Paho for Python, the `mqtt` package,
// mosquitto_pub/mosquitto_sub) against `twoway up` plus a second broker replica, every client behind
// mutual TLS and a credential. Each check runs on one replica and across the two (publisher and
// subscriber on different replicas, a persistent session resumed on the other one). The checks follow
// the topics of the Paho interoperability suite; they are written here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { System, fixedHeader, makeTestPki, tempDir, waitFor } from '@twoway/testing';
import { mosquittoSub } from './support/mqtt.js';
import { Operator } from './support/operator.js';

const PAHO = fileURLToPath(new URL('./support/paho_interop.py', import.meta.url));
const PYTHON = '/usr/bin/python3'; // the distribution's, which python3-paho-mqtt installs into
const PAHO_CHECKS = [
  'basic', 'retained messages', 'will message', 'zero length client id', 'offline message queueing', 'overlapping subscriptions',
  'keepalive', 'redelivery on reconnect', 'subscribe failure', 'dollar topics', 'unsubscribe',
] as const;

interface PahoLine { name: string; ok: boolean; detail: string; trace?: string }

describe('client interoperability: Paho, mqtt and mosquitto behind mutual TLS, on one replica and across two', { timeout: 600_000 }, () => {
  let sys: System;
  let op: Operator;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let accountId: string;
  let ports: { a: number; b: number };
  const files = { ca: '', cert: '', key: '' };
  const tls = { ca: '', cert: '', key: '' };
  const username = 'interop-device';
  const password = 'interop-password-1';

  before(async () => {
    dir = await tempDir('twoway-interop-');
    sys = await System.start();
    op = new Operator(sys);
    const pki = await makeTestPki({ fresh: true });
    const dev = await pki.device(username);
    accountId = await op.account('interop');
    await op.credential(accountId, username, password);
    await op.register(accountId, 'interop root', pki.root.certPem);
    tls.ca = await readFile(sys.caFile, 'utf8');
    tls.cert = dev.chainPem;
    tls.key = dev.keyPem;
    files.ca = sys.caFile;
    files.cert = join(dir.path, 'dev.pem');
    files.key = join(dir.path, 'dev.key');
    await writeFile(files.cert, tls.cert);
    await writeFile(files.key, tls.key, { mode: 0o600 });
    const replica = await sys.startBrokerReplica();
    ports = { a: sys.mqttPort, b: replica.mqttPort };
  });
  after(async () => {
    await sys?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  const topologies = [
    { name: 'one replica', pick: () => [ports.a, ports.a] as const },
    { name: 'across replicas', pick: () => [ports.a, ports.b] as const },
  ];

  for (const topo of topologies) {
    describe(`Eclipse Paho (${topo.name})`, () => {
      let results: Promise<Map<string, PahoLine>> | undefined;
      const run = () =>
        (results ??= new Promise((resolve, reject) => {
          const [a, b] = topo.pick();
          const child = spawn(PYTHON, [PAHO, '--port-a', String(a), '--port-b', String(b), '--ca', files.ca, '--cert', files.cert, '--key', files.key,
            '--username', username, '--password', password, '--prefix', `paho-${randomUUID().slice(0, 8)}`], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
          child.once('exit', (code) => {
            clearTimeout(timer);
            const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as PahoLine);
            if (code !== 0 || lines.length === 0) return reject(new Error(`paho_interop.py exited ${code}:\n${out}\n${err}`));
            resolve(new Map(lines.map((l) => [l.name, l])));
          });
        }));
      for (const name of PAHO_CHECKS) {
        it(name, async () => {
          const r = (await run()).get(name);
          assert.ok(r, `no result for ${name}`);
          assert.ok(r.ok, `${r.detail}\n${r.trace ?? ''}`);
        });
      }
    });
  }

  // ---- the `mqtt` package ----------------------------------------------------------------------

  interface Dev { client: MqttClient; connack: IConnackPacket; got: IPublishPacket[] }
  const open = (port: number, clientId: string, o: Partial<IClientOptions> = {}) =>
    new Promise<Dev>((resolve, reject) => {
      const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
        ca: tls.ca, cert: tls.cert, key: tls.key, servername: 'localhost', clientId, username, password,
        protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, ...o,
      });
      const got: IPublishPacket[] = [];
      client.on('message', (_t, _p, packet) => got.push(packet));
      client.once('connect', (connack) => resolve({ client, connack, got }));
      client.once('error', reject);
    });
  const end = (d: Dev) => new Promise<void>((r) => d.client.end(false, {}, () => r()));
  const kill = (d: Dev) => new Promise<void>((r) => { d.client.once('close', () => r()); d.client.stream.destroy(); });
  const roundTrip = (d: Dev) => d.client.subscribeAsync(`rt-${randomUUID().slice(0, 6)}`, { qos: 0 });

  for (const topo of topologies) {
    describe(`the mqtt package (${topo.name})`, () => {
      const P = () => `js-${randomUUID().slice(0, 8)}`;

      it('basic: QoS 0, 1 and 2 delivered', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const sub = await open(a, `${t}-sub`);
        const pub = await open(b, `${t}-pub`);
        try {
          await sub.client.subscribeAsync(`${t}/x`, { qos: 2 });
          for (const qos of [0, 1, 2] as const) await pub.client.publishAsync(`${t}/x`, `q${qos}`, { qos });
          await waitFor(() => sub.got.length === 3, { what: '3 messages' });
          assert.deepEqual(sub.got.map((p) => p.payload.toString()).sort(), ['q0', 'q1', 'q2']);
        } finally {
          await Promise.all([end(sub), end(pub)]);
        }
      });

      it('retained messages: delivered to a later subscriber, then cleared', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const pub = await open(a, `${t}-pub`);
        try {
          await pub.client.publishAsync(`${t}/state`, 'on', { qos: 1, retain: true });
          const sub = await open(b, `${t}-sub`);
          await sub.client.subscribeAsync(`${t}/#`, { qos: 1 });
          await waitFor(() => sub.got.length === 1, { what: 'the retained message' });
          assert.equal(sub.got[0]!.retain, true);
          await end(sub);
          await pub.client.publishAsync(`${t}/state`, '', { qos: 1, retain: true });
          const later = await open(b, `${t}-later`);
          await later.client.subscribeAsync(`${t}/#`, { qos: 1 });
          await roundTrip(later);
          assert.deepEqual(later.got, []);
          await end(later);
        } finally {
          await end(pub);
        }
      });

      it('will message: published when the device drops', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const watcher = await open(b, `${t}-watch`);
        try {
          await watcher.client.subscribeAsync(`${t}/will`, { qos: 1 });
          const dev = await open(a, `${t}-dev`, { will: { topic: `${t}/will`, payload: Buffer.from('gone'), qos: 1, retain: false } });
          await kill(dev);
          await waitFor(() => watcher.got.length === 1, { what: 'the will' });
          assert.equal(watcher.got[0]!.payload.toString(), 'gone');
        } finally {
          await end(watcher);
        }
      });

      it('[MQTT-3.1.3-8] zero-length client id: accepted with a clean session, CONNACK 2 for a persistent one', async () => {
        const [a] = topo.pick();
        const ok = await open(a, '', { clean: true });
        assert.equal(ok.connack.returnCode, 0);
        await end(ok);
        assert.equal(await rawConnackReturnCode(a, { clean: false }), 2);
      });

      it('offline message queueing and in-flight redelivery with DUP on the other replica', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const cid = `${t}-sleepy`;
        const first = await open(a, cid, { clean: false });
        await first.client.subscribeAsync(`${t}/#`, { qos: 1 });
        // Receives but never acknowledges: the in-flight message must come again, marked DUP.
        first.client.handleMessage = (_packet, _cb) => undefined;
        const pub = await open(b, `${t}-pub`);
        try {
          await pub.client.publishAsync(`${t}/inflight`, 'in-flight', { qos: 1 });
          await waitFor(() => first.got.length === 1, { what: 'the first delivery' });
          await kill(first);
          await pub.client.publishAsync(`${t}/offline`, 'queued', { qos: 1 });
          const back = await open(b, cid, { clean: false });
          try {
            assert.equal(back.connack.sessionPresent, true);
            await waitFor(() => back.got.length === 2, { what: 'two messages on resume' });
            const inflight = back.got.find((p) => p.payload.toString() === 'in-flight');
            assert.ok(inflight, 'the in-flight message was not redelivered');
            assert.equal(inflight.dup, true, 'redelivered without DUP');
            assert.equal(inflight.messageId, first.got[0]!.messageId, 'redelivered with another packet identifier');
            assert.ok(back.got.some((p) => p.payload.toString() === 'queued'));
          } finally {
            await end(back);
          }
        } finally {
          await end(pub);
          const clean = await open(a, cid, { clean: true });
          await end(clean);
        }
      });

      it('overlapping subscriptions: one delivery at the highest QoS, or one per subscription', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const sub = await open(a, `${t}-sub`);
        const pub = await open(b, `${t}-pub`);
        try {
          await sub.client.subscribeAsync({ [`${t}/#`]: { qos: 2 }, [`${t}/+`]: { qos: 1 } });
          await pub.client.publishAsync(`${t}/x`, 'o', { qos: 2 });
          await waitFor(() => sub.got.length >= 1, { what: 'a delivery' });
          await roundTrip(sub);
          const qos = sub.got.map((p) => p.qos).sort();
          assert.ok(JSON.stringify(qos) === '[2]' || JSON.stringify(qos) === '[1,2]', `deliveries with qos ${qos}`);
        } finally {
          await Promise.all([end(sub), end(pub)]);
        }
      });

      it('subscribe failure: SUBACK 0x80 for $SYS/#', async () => {
        const [a] = topo.pick();
        const d = await open(a, `${P()}-sys`);
        try {
          // The package turns a refused subscription into an error that carries the SUBACK.
          const err = await d.client.subscribeAsync('$SYS/#', { qos: 1 }).then(() => undefined, (e: { packet?: { granted?: number[] } }) => e);
          assert.deepEqual(err?.packet?.granted, [128]);
          await roundTrip(d); // the connection stays up
        } finally {
          await end(d);
        }
      });

      it('[MQTT-4.7.2-1] dollar topics: # does not match them', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const sub = await open(a, `${t}-sub`);
        const pub = await open(b, `${t}-pub`);
        try {
          await sub.client.subscribeAsync('#', { qos: 1 });
          await pub.client.publishAsync(`$${t}/x`, 'dollar', { qos: 1 });
          await pub.client.publishAsync(`${t}/x`, 'plain', { qos: 1 });
          await waitFor(() => sub.got.some((p) => p.topic === `${t}/x`), { what: 'the plain message' });
          await roundTrip(sub);
          assert.deepEqual(sub.got.filter((p) => p.topic.startsWith('$')).map((p) => p.topic), []);
        } finally {
          await Promise.all([end(sub), end(pub)]);
        }
      });

      it('unsubscribe: only the remaining subscription delivers', async () => {
        const [a, b] = topo.pick();
        const t = P();
        const sub = await open(a, `${t}-sub`);
        const pub = await open(b, `${t}-pub`);
        try {
          await sub.client.subscribeAsync([`${t}/1`, `${t}/2`], { qos: 1 });
          await sub.client.unsubscribeAsync(`${t}/1`);
          await pub.client.publishAsync(`${t}/1`, 'one', { qos: 1 });
          await pub.client.publishAsync(`${t}/2`, 'two', { qos: 1 });
          await waitFor(() => sub.got.length >= 1, { what: 'a message' });
          await roundTrip(sub);
          assert.deepEqual(sub.got.map((p) => p.payload.toString()), ['two']);
        } finally {
          await Promise.all([end(sub), end(pub)]);
        }
      });
    });
  }

  /** A hand-made CONNECT (the clients refuse to send a persistent session without an id). */
  function rawConnackReturnCode(port: number, o: { clean: boolean }): Promise<number> {
    const str = (s: string | Buffer) => {
      const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
      return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    };
    const flags = 0x80 | 0x40 | (o.clean ? 0x02 : 0);
    const body = Buffer.concat([str('MQTT'), Buffer.from([4, flags, 0, 30]), str(''), str(username), str(password)]);
    const packet = Buffer.concat([fixedHeader(0x10, body.length), body]);
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: tls.ca, cert: tls.cert, key: tls.key }, () => s.write(packet));
      s.once('data', (d: Buffer) => {
        s.destroy();
        if (d[0] !== 0x20) reject(new Error(`not a CONNACK: ${d.toString('hex')}`));
        else resolve(d[3]!);
      });
      s.once('error', reject);
      setTimeout(() => { s.destroy(); reject(new Error('no CONNACK')); }, 10_000).unref();
    });
  }

  // ---- mosquitto_pub / mosquitto_sub -------------------------------------------------------------

  const mosq = (port: number, clientId: string, extra: string[]) => [
    '-h', 'localhost', '-p', String(port), '--cafile', files.ca, '--cert', files.cert, '--key', files.key, '-u', username, '-P', password, '-i', clientId, '-V', 'mqttv311', ...extra,
  ];
  const run = (bin: string, args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) =>
      execFile(bin, args, { timeout: 20_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` })),
    );
  const files4 = () => ({ caFile: files.ca, certFile: files.cert, keyFile: files.key });

  for (const topo of topologies) {
    describe(`mosquitto_pub / mosquitto_sub (${topo.name})`, () => {
      it('retained message: mosquitto_pub -r, a later mosquitto_sub gets it', async () => {
        const [a, b] = topo.pick();
        const t = `mosq-${randomUUID().slice(0, 8)}`;
        const pub = await run('mosquitto_pub', mosq(a, `${t}-pub`, ['-t', `${t}/state`, '-m', 'last-known', '-r', '-q', '1']));
        assert.equal(pub.code, 0, pub.out);
        const sub = await run('mosquitto_sub', mosq(b, `${t}-sub`, ['-t', `${t}/#`, '-C', '1', '-v', '-W', '10']));
        assert.equal(sub.code, 0, sub.out);
        assert.match(sub.out, new RegExp(`${t}/state last-known`));
      });

      it('persistent session: queued QoS 1 message delivered to mosquitto_sub -c on reconnect', async () => {
        const [a, b] = topo.pick();
        const t = `mosq-${randomUUID().slice(0, 8)}`;
        const cid = `${t}-sleepy`;
        // -E: exit once subscribed, leaving a persistent session (-c) behind.
        const first = await run('mosquitto_sub', mosq(a, cid, ['-c', '-q', '1', '-t', `${t}/cmd`, '-E']));
        assert.equal(first.code, 0, first.out);
        const pub = await run('mosquitto_pub', mosq(b, `${t}-pub`, ['-t', `${t}/cmd`, '-m', 'reboot', '-q', '1']));
        assert.equal(pub.code, 0, pub.out);
        const back = await run('mosquitto_sub', mosq(b, cid, ['-c', '-q', '1', '-t', `${t}/cmd`, '-C', '1', '-v', '-W', '10']));
        assert.equal(back.code, 0, back.out);
        assert.match(back.out, new RegExp(`${t}/cmd reboot`));
      });

      it('will: a killed mosquitto_sub has its will published', async () => {
        const [a, b] = topo.pick();
        const t = `mosq-${randomUUID().slice(0, 8)}`;
        const watcher = mosquittoSub(b, files4(), { clientId: `${t}-watch`, username, password }, `${t}/will`, 1);
        await watcher.ready;
        // Line-buffered, so that SUBACK shows while it runs.
        const mortal = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...mosq(a, `${t}-mortal`, ['-t', `${t}/x`, '--will-topic', `${t}/will`, '--will-payload', 'offline', '--will-qos', '1', '-d'])], { stdio: ['ignore', 'pipe', 'pipe'] });
        let mout = '';
        mortal.stdout.on('data', (d) => (mout += d));
        await waitFor(() => mout.includes('SUBACK'), { what: 'the mortal client subscribed' });
        mortal.kill('SIGKILL');
        const r = await watcher.exited;
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /offline/);
      });

      it('MQTT 5: mosquitto_pub -V mqttv5 is refused, and the audit says PROTOCOL_UNSUPPORTED', async () => {
        const [a] = topo.pick();
        const cid = `mosq5-${randomUUID().slice(0, 8)}`;
        const args = mosq(a, cid, ['-t', 'x', '-m', 'y']).map((x) => (x === 'mqttv311' ? 'mqttv5' : x));
        const r = await run('mosquitto_pub', args);
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /protocol version/i);
        // No account is known before the CONNECT is understood, so the event has none; the broker's log
        // line names the reason and the client (the audit event itself: services/broker mqtt-semantics).
        const line = await waitFor(async () => (await sys.serviceLogs(500)).split('\n').find((l) => l.includes(cid) && l.includes('PROTOCOL_UNSUPPORTED')), { what: 'the broker log line', timeoutMs: 15_000 });
        assert.match(line, /"protocolVersion":5/);
      });
    });
  }
});
