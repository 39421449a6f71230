// Persistent sessions through broker restarts: 3 broker replicas, devices with persistent QoS 1
// sessions (clean session off, one command topic each), publishers sending QoS 1 messages while the
// replicas are restarted one after another (SIGTERM: graceful drain) and then one is killed (-9).
// Devices reconnect through the replica list (what a TCP load balancer does). Reports messages lost,
// duplicates, and the time until every device is back after each restart.
//
//   node --import tsx test/bench/sessions-restart.bench.ts [--devices 300] [--messages 10000] [--rate 200] [--drain-ms 5000]
//
// Lost = sent and acknowledged by the broker (PUBACK) but never received by its device. A QoS 1
// duplicate is allowed by MQTT; it is counted. Not a test: it prints figures, it gates nothing.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { System, makeTestPki, tempDir, waitFor, type OwnedProcess } from '@twoway/testing';
import { provisionFleet } from './support.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '300' },
    messages: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '200' },
    'drain-ms': { type: 'string', default: '5000' },
  },
});
const DEVICES = Number(values.devices);
const MESSAGES = Number(values.messages);
const RATE = Number(values.rate);
const DRAIN_MS = Number(values['drain-ms']);

const dir = await tempDir('twoway-bench-sessions-');
const sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn' } });
const cleanup: (() => Promise<void>)[] = [() => sys.stop(), () => dir[Symbol.asyncDispose]()];
process.once('SIGINT', () => void Promise.all(cleanup.map((c) => c().catch(() => undefined))).then(() => process.exit(130)));

try {
  const pki = await makeTestPki({ fresh: true });
  const fleet = await provisionFleet(sys, pki, dir.path, 'sessions');
  const ca = await readFile(sys.caFile, 'utf8');

  // Three replicas we own (the one `twoway up` supervises stays out of the device list).
  interface Replica { id: string; proc: OwnedProcess; mqttPort: number; httpPort: number }
  const replicas: Replica[] = [];
  const env = (id: string) => ({ TWOWAY_BROKER_ID: id, TWOWAY_DRAIN_WINDOW_MS: String(DRAIN_MS), TWOWAY_LOG_LEVEL: 'warn' });
  for (const id of ['bench-a', 'bench-b', 'bench-c']) {
    const r = await sys.startBrokerReplica(env(id));
    replicas.push({ id, proc: r.proc, mqttPort: r.mqttPort, httpPort: r.httpPort });
  }
  const servers = replicas.map((r) => ({ host: '127.0.0.1', port: r.mqttPort }));
  const tls = { ca, cert: fleet.certPem, key: fleet.keyPem, servername: 'localhost', rejectUnauthorized: true };

  // ---- devices ----
  const run = randomUUID().slice(0, 6);
  const received = new Map<number, number>(); // seq → times received
  const devices: MqttClient[] = [];
  const downAt: number[] = [];
  const upAt: number[] = [];
  for (let i = 0; i < DEVICES; i++) {
    // Each device starts on its own replica; reconnects rotate through the list.
    const rotated = [...servers.slice(i % 3), ...servers.slice(0, i % 3)];
    const c = mqtt.connect({
      ...tls, protocol: 'mqtts', servers: rotated, clientId: `dev-${run}-${i}`, username: fleet.username, password: fleet.password,
      clean: false, protocolVersion: 4, reconnectPeriod: 250 + Math.floor(Math.random() * 250), connectTimeout: 10_000, keepalive: 30, resubscribe: false,
    });
    c.on('error', () => undefined);
    c.on('connect', () => (upAt[i] = Date.now()));
    c.on('close', () => (downAt[i] = Date.now()));
    c.on('message', (_t, payload) => {
      const seq = Number(payload.toString());
      received.set(seq, (received.get(seq) ?? 0) + 1);
    });
    devices.push(c);
  }
  const connectedNow = () => devices.filter((d) => d.connected).length;
  await waitFor(() => connectedNow() === DEVICES, { timeoutMs: 120_000, what: 'every device connected' });
  await Promise.all(devices.map((d, i) => d.subscribeAsync(`cmd/${i}`, { qos: 1 })));
  console.log(`${DEVICES} devices with persistent sessions on ${replicas.length} replicas`);

  // ---- publishers ----
  const publishers = await Promise.all(
    servers.map((_, k) =>
      new Promise<MqttClient>((resolve) => {
        const rotated = [...servers.slice(k), ...servers.slice(0, k)];
        // A persistent session: mqtt.js sends an unacknowledged QoS 1 PUBLISH again after a reconnect.
        const c = mqtt.connect({ ...tls, protocol: 'mqtts', servers: rotated, clientId: `pub-${run}-${k}`, username: fleet.username, password: fleet.password, clean: false, protocolVersion: 4, reconnectPeriod: 250, connectTimeout: 10_000 });
        c.on('error', () => undefined);
        c.once('connect', () => resolve(c));
      }),
    ),
  );
  const acked = new Set<number>();
  let sent = 0;
  let retries = 0;
  const publishing = (async () => {
    const every = 1000 / RATE;
    const t0 = Date.now();
    for (let seq = 0; seq < MESSAGES; seq++) {
      const due = t0 + seq * every;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sent++;
      // A publisher that learns its publish failed (its connection dropped before the PUBACK) sends it
      // again, as an application would: at least once, from the publisher to the broker.
      const attempt = (k: number) =>
        publishers[k % publishers.length]!.publish(`cmd/${seq % DEVICES}`, String(seq), { qos: 1 }, (err) => {
          if (!err) acked.add(seq);
          else {
            retries++;
            setTimeout(() => attempt(k + 1), 200);
          }
        });
      attempt(seq);
    }
  })();

  // ---- restarts ----
  const backTimes: { what: string; ms: number }[] = [];
  // "Back": from the signal until the last device that lost its connection had it again (on any
  // replica); the replaced replica's own restart is not waited for.
  const restart = async (r: Replica, how: 'graceful' | 'kill -9') => {
    const t0 = Date.now();
    if (how === 'graceful') await r.proc.stop(DRAIN_MS + 15_000);
    else await r.proc.kill9();
    await waitFor(() => connectedNow() === DEVICES, { timeoutMs: 120_000, everyMs: 50, what: `every device back after ${how} stop of ${r.id}` });
    const moved = devices.map((_, i) => i).filter((i) => (downAt[i] ?? 0) >= t0);
    const ms = Math.max(0, ...moved.map((i) => upAt[i]! - t0));
    backTimes.push({ what: `${how} ${r.id} (${moved.length} devices moved)`, ms });
    console.log(`${how} stop of ${r.id}: ${moved.length} devices moved, every one back after ${ms} ms`);
    const again = await sys.startBrokerReplica(env(r.id), { mqttPort: r.mqttPort, httpPort: r.httpPort });
    r.proc = again.proc;
    await new Promise((res) => setTimeout(res, 2_000));
  };
  await new Promise((r) => setTimeout(r, 2_000));
  for (const r of replicas) await restart(r, 'graceful');
  // kill -9 the replica that holds the most devices now (reconnects rotate, so they bunch up).
  const onPort = (port: number) => devices.filter((d) => d.connected && (d.stream as unknown as { remotePort?: number }).remotePort === port).length;
  const victim = [...replicas].sort((x, y) => onPort(y.mqttPort) - onPort(x.mqttPort))[0]!;
  await restart(victim, 'kill -9');
  await publishing;

  // ---- settle and count ----
  await waitFor(() => acked.size === MESSAGES, { timeoutMs: 120_000, what: 'every publish acknowledged' }).catch(() => undefined);
  await waitFor(() => [...acked].every((s) => received.has(s)), { timeoutMs: 60_000, everyMs: 200, what: 'every acknowledged message received' }).catch(() => undefined);
  const lost = [...acked].filter((s) => !received.has(s));
  const dups = [...received.values()].reduce((a, n) => a + (n - 1), 0);
  console.log('\n| measure | value |\n| --- | --- |');
  console.log(`| devices, replicas | ${DEVICES}, ${replicas.length} |`);
  console.log(`| QoS 1 messages sent / acknowledged / received (distinct) | ${sent} / ${acked.size} / ${received.size} |`);
  console.log(`| lost (acknowledged, never received) | ${lost.length} |`);
  console.log(`| duplicates received | ${dups} |`);
  console.log(`| publishes sent again by publishers after a failure | ${retries} |`);
  console.log(`| drain window | ${DRAIN_MS} ms |`);
  for (const b of backTimes) console.log(`| every device back after ${b.what} | ${b.ms} ms |`);
  if (lost.length) console.log(`lost sequence numbers (first 20): ${lost.slice(0, 20).join(', ')}`);
  for (const d of [...devices, ...publishers]) d.end(true);
} finally {
  for (const c of cleanup) await c().catch(() => undefined);
}
