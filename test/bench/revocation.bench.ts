// Revocation propagation across broker replicas: 3 broker processes, hundreds of live device
// sessions below one intermediate; time from the PATCH (status SUSPENDED) returning to
// (a) every affected session closed on every replica and (b) a new connect refused on every replica.
//   node --import tsx test/bench/revocation.bench.ts [--sessions 300] [--runs 20] [--replicas 3]
import { parseArgs } from 'node:util';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { readFile } from 'node:fs/promises';
import { System, makeTestPki, tempDir } from '@twoway/testing';
import { provisionFleet, summary, fmt } from './support.js';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '300' }, runs: { type: 'string', default: '20' }, replicas: { type: 'string', default: '3' } } });
const SESSIONS = Number(values.sessions);
const RUNS = Number(values.runs);
const REPLICAS = Number(values.replicas);

function open(o: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = connect({ ...o, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => { c.end(true); reject(e); });
  });
}
async function refused(o: IClientOptions): Promise<boolean> {
  try {
    const c = await open(o);
    await c.endAsync();
    return false;
  } catch {
    return true;
  }
}

await using dir = await tempDir('twoway-bench-');
const pki = await makeTestPki({ fresh: true });
await using sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn' } });
const fleet = await provisionFleet(sys, pki, dir.path);
const ports = [sys.mqttPort];
for (let i = 1; i < REPLICAS; i++) ports.push((await sys.startBrokerReplica()).mqttPort);
const ca = await readFile(sys.caFile, 'utf8');
const opts = (port: number, clientId: string): IClientOptions => ({
  protocol: 'mqtts', host: '127.0.0.1', port, servername: 'localhost', ca, cert: fleet.certPem, key: fleet.keyPem,
  username: fleet.username, password: fleet.password, clientId, protocolVersion: 4,
});
const patch = (status: string) => sys.api('PATCH', `/api/v1/accounts/${fleet.accountId}/certificates/${fleet.intermediateId}`, { status });

const closeAll: number[] = [];
const closeFirst: number[] = [];
const refuseAll: number[] = [];
for (let run = 0; run < RUNS; run++) {
  // connect the fleet, spread over the replicas, 25 at a time
  const clients: MqttClient[] = [];
  for (let i = 0; i < SESSIONS; i += 25) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(25, SESSIONS - i) }, (_, k) => open(opts(ports[(i + k) % ports.length]!, `dev-${run}-${i + k}`))))));
  }
  const closedAt: number[] = [];
  const allClosed = new Promise<void>((resolve) => {
    for (const c of clients) c.once('close', () => { closedAt.push(performance.now()); if (closedAt.length === clients.length) resolve(); });
  });
  const r = await patch('SUSPENDED');
  const t0 = performance.now();
  if (r.status !== 200) throw new Error(`PATCH answered ${r.status}`);
  const refusedAt = await Promise.all(ports.map(async (p, i) => {
    for (let k = 0; ; k++) {
      if (await refused(opts(p, `probe-${run}-${i}-${k}`))) return performance.now();
    }
  }));
  await allClosed;
  closeAll.push(Math.max(...closedAt) - t0);
  closeFirst.push(Math.min(...closedAt) - t0);
  refuseAll.push(Math.max(...refusedAt) - t0);
  for (const c of clients) c.end(true);
  const back = await patch('VALID');
  if (back.status !== 200) throw new Error(`PATCH VALID answered ${back.status}`);
  // wait until a connect is admitted again everywhere before the next run
  for (const p of ports) while (await refused(opts(p, `ready-${run}`))) await new Promise((x) => setTimeout(x, 20));
  process.stderr.write(`run ${run + 1}/${RUNS}: all ${SESSIONS} sessions closed after ${fmt(closeAll.at(-1)!)} ms, refused everywhere after ${fmt(refuseAll.at(-1)!)} ms\n`);
}
const a = summary(closeAll), b = summary(refuseAll), f = summary(closeFirst);
console.log(`\ncommand: node --import tsx test/bench/revocation.bench.ts --sessions ${SESSIONS} --runs ${RUNS} --replicas ${REPLICAS}`);
console.log(`intermediate SUSPENDED with ${SESSIONS} live sessions on ${REPLICAS} broker replicas; ms from the PATCH response`);
console.log('| measure | p50 | p90 | p99 | max |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| every affected session closed on every replica | ${fmt(a.p50)} | ${fmt(a.p90)} | ${fmt(a.p99)} | ${fmt(a.max)} |`);
console.log(`| first affected session closed (propagation alone) | ${fmt(f.p50)} | ${fmt(f.p90)} | ${fmt(f.p99)} | ${fmt(f.max)} |`);
console.log(`| a new connect refused on every replica | ${fmt(b.p50)} | ${fmt(b.p90)} | ${fmt(b.p99)} | ${fmt(b.max)} |`);
