// Connect cost and message latency of twoway against Mosquitto configured for client certificates
// and passwords, in the same run on the same machine, reported as ratios (twoway / mosquitto).
//   node --import tsx test/bench/connect-vs-mosquitto.bench.ts [--connects 300] [--concurrency 20] [--messages 500]
import { parseArgs } from 'node:util';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { System, makeTestPki, tempDir, freePort, OwnedProcess, waitFor } from '@twoway/testing';
import { mosquittoConf, provisionFleet, summary, fmt } from './support.js';

const { values } = parseArgs({ options: { connects: { type: 'string', default: '300' }, concurrency: { type: 'string', default: '20' }, messages: { type: 'string', default: '500' } } });
const CONNECTS = Number(values.connects);
const CONCURRENCY = Number(values.concurrency);
const MESSAGES = Number(values.messages);

interface Target { name: string; opts: (clientId: string) => IClientOptions }

function open(o: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = connect({ ...o, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => { c.end(true); reject(e); });
  });
}

async function connectLatencies(t: Target, n: number, conc: number): Promise<{ lat: number[]; perSecond: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async (_, w) => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        const c = await open(t.opts(`bench-${w}-${i}`));
        lat.push(performance.now() - s);
        await c.endAsync();
      }
    }),
  );
  return { lat, perSecond: (n / (performance.now() - t0)) * 1000 };
}

async function roundTrips(t: Target, n: number): Promise<number[]> {
  const sub = await open(t.opts('bench-sub'));
  const pub = await open(t.opts('bench-pub'));
  await sub.subscribeAsync('bench/rt', { qos: 0 });
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const got = new Promise<void>((r) => sub.once('message', () => r()));
    pub.publish('bench/rt', String(i), { qos: 0 });
    await got;
    lat.push(performance.now() - s);
  }
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  return lat;
}

await using dir = await tempDir('twoway-bench-');
const pki = await makeTestPki({ fresh: true });
await using sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn' } });
const fleet = await provisionFleet(sys, pki, dir.path);

// Mosquitto with the same server certificate, the fleet CA and a password file: the same rule.
const mport = await freePort();
// mosquitto started as root drops to its own user: give it a readable copy of what it needs.
execFileSync('chmod', ['0755', dir.path]);
const serverCert = join(dir.path, 'server.pem');
const serverKey = join(dir.path, 'server.key');
await writeFile(serverCert, await readFile(join(sys.dataDir, 'pki', 'server.pem')));
await writeFile(serverKey, await readFile(join(sys.dataDir, 'pki', 'server.key')));
const caBundle = join(dir.path, 'fleet-ca.pem');
await writeFile(caBundle, pki.root.certPem + pki.intermediate.certPem);
const pwFile = join(dir.path, 'passwd');
await writeFile(pwFile, '');
execFileSync('mosquitto_passwd', ['-b', pwFile, fleet.username, fleet.password]);
const conf = join(dir.path, 'mosquitto.conf');
await writeFile(conf, mosquittoConf({ port: mport, cafile: caBundle, certfile: serverCert, keyfile: serverKey, passwordFile: pwFile }));
execFileSync('chmod', ['0644', pwFile, conf, caBundle, serverCert, serverKey]);
await using mosq = OwnedProcess.spawn('mosquitto', 'mosquitto', ['-c', conf]);
const ca = await readFile(sys.caFile, 'utf8');
const base = (port: number) => (clientId: string): IClientOptions => ({
  protocol: 'mqtts', host: '127.0.0.1', port, servername: 'localhost', ca, cert: fleet.certPem, key: fleet.keyPem,
  username: fleet.username, password: fleet.password, clientId, protocolVersion: 4,
});
const targets: Target[] = [
  { name: 'twoway', opts: base(sys.mqttPort) },
  { name: 'mosquitto', opts: base(mport) },
];
await waitFor(async () => { try { const c = await open(targets[1]!.opts('probe')); await c.endAsync(); return true; } catch { if (!mosq.running) throw new Error(mosq.log); return false; } }, { what: 'mosquitto', timeoutMs: 10_000 });

const results: Record<string, { seq: ReturnType<typeof summary>; conc: ReturnType<typeof summary>; cps: number; rt: ReturnType<typeof summary> }> = {};
for (const t of targets) {
  await connectLatencies(t, 20, 1); // warm-up (twoway: fills the trust, settings and credential caches)
  const seq = await connectLatencies(t, Math.min(CONNECTS, 200), 1);
  const conc = await connectLatencies(t, CONNECTS, CONCURRENCY);
  const rt = await roundTrips(t, MESSAGES);
  results[t.name] = { seq: summary(seq.lat), conc: summary(conc.lat), cps: conc.perSecond, rt: summary(rt) };
}
const a = results.twoway!, b = results.mosquitto!;
console.log(`\ncommand: node --import tsx test/bench/connect-vs-mosquitto.bench.ts --connects ${CONNECTS} --concurrency ${CONCURRENCY} --messages ${MESSAGES}`);
console.log('mTLS + password, warm caches; ms; ratio = twoway / mosquitto (lower is better, except connects/s)');
console.log('| measure | twoway | mosquitto | ratio |');
console.log('| --- | --- | --- | --- |');
const row = (m: string, x: number, y: number) => console.log(`| ${m} | ${fmt(x)} | ${fmt(y)} | ${fmt(x / y)} |`);
row('connect p50, sequential', a.seq.p50, b.seq.p50);
row('connect p99, sequential', a.seq.p99, b.seq.p99);
row(`connect p50, ${CONCURRENCY} concurrent`, a.conc.p50, b.conc.p50);
row(`connect p99, ${CONCURRENCY} concurrent`, a.conc.p99, b.conc.p99);
row('connects per second', a.cps, b.cps);
row('publish→receive p50 (QoS 0)', a.rt.p50, b.rt.p50);
row('publish→receive p99 (QoS 0)', a.rt.p99, b.rt.p99);
