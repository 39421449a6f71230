// Revocation propagation across broker replicas: N broker processes, hundreds of live device sessions
// below one intermediate; time from the PATCH (status SUSPENDED) returning to (a) every affected
// session closed on every replica and (b) a new connect refused on every replica.
//   node --import tsx test/bench/revocation.bench.ts [--sessions 300] [--runs 20] [--replicas 3] [--settle-ms 1000]
//
// Everything shares this machine's cores, so each run is done three times, each measuring one thing
// without the others' load:
//   quiet   — the fleet does not read its sockets while the replicas close them (a device on its own
//             machine costs the brokers nothing); (a) on the broker clock: the `session.ended` audit
//             events, stamped when the replica destroyed the socket (ms resolution). Afterwards every
//             session is proven closed by the server.
//   devices — the fleet reads: (a) as the devices see it (the server's FIN in the fleet process).
//   probes  — a connect probe per replica from the moment the PATCH returns, until refused: (b).
// The fleet runs in its own process with lean clients (libs/testing Fleet, lean-mqtt.ts).
import { parseArgs } from 'node:util';
import { readFile, readdir } from 'node:fs/promises';
import { connect as natsConnect, JSONCodec } from 'nats';
import { auditSubject } from '@twoway/contracts';
import { Fleet, System, makeTestPki, openLean, tempDir, wallNow, type LeanDevice } from '@twoway/testing';
import { provisionFleet, summary, fmt } from './support.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '300' },
    runs: { type: 'string', default: '20' },
    replicas: { type: 'string', default: '3' },
    'settle-ms': { type: 'string', default: '1000' },
  },
});
const SESSIONS = Number(values.sessions);
const RUNS = Number(values.runs);
const REPLICAS = Number(values.replicas);
const SETTLE_MS = Number(values['settle-ms']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await using dir = await tempDir('twoway-bench-');
const pki = await makeTestPki({ fresh: true });
await using sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn' } });
const fleet = await provisionFleet(sys, pki, dir.path);
const ports = [sys.mqttPort];
const brokerUrls = [sys.brokerHttpUrl];
for (let i = 1; i < REPLICAS; i++) {
  const r = await sys.startBrokerReplica();
  ports.push(r.mqttPort);
  brokerUrls.push(r.httpUrl);
}
const ca = await readFile(sys.caFile, 'utf8');
const intermediate = (await sys.api('GET', `/api/v1/accounts/${fleet.accountId}/certificates/${fleet.intermediateId}`)).body;
const device = (port: number, clientId: string): LeanDevice => ({
  host: '127.0.0.1', port, servername: 'localhost', ca, cert: fleet.certPem, key: fleet.keyPem,
  username: fleet.username, password: fleet.password, clientId,
});
const patch = (status: string) => sys.api('PATCH', `/api/v1/accounts/${fleet.accountId}/certificates/${fleet.intermediateId}`, { status });

// What the brokers say: every session.ended audit event for the intermediate, as a downstream consumer reads them.
const nc = await natsConnect({ servers: sys.natsUrl });
const jc = JSONCodec<{ time: string; source: string; detail?: { fingerprint?: string } }>();
let ended: { atMs: number; source: string }[] = [];
const sub = nc.subscribe(auditSubject('session.ended'));
void (async () => {
  for await (const m of sub) {
    const e = jc.decode(m.data);
    if (e.detail?.fingerprint === intermediate.fingerprint) ended.push({ atMs: Date.parse(e.time), source: e.source });
  }
})();

// The fleet lives in its own process.
await using fleetProc = Fleet.start();
/** Connect on one replica until it refuses (CONNACK 5); the wall-clock time of the refusal. */
/**
 * Connect on one replica until it refuses (CONNACK 5): when the refused attempt was started (the
 * refusal was in effect by then) and when its CONNACK arrived (wall-clock ms).
 */
async function refusedAt(port: number, tag: string, t0: number): Promise<{ started: number; answered: number }> {
  const tries: string[] = [];
  for (let k = 0; ; k++) {
    const started = wallNow();
    const s = await openLean(device(port, `probe-${tag}-${k}`)).catch((e: Error) => e);
    const rc = s instanceof Error ? s.message : s.returnCode;
    if (!(s instanceof Error)) s.socket.destroy();
    const answered = wallNow();
    tries.push(`${fmt(started - t0)}→${fmt(answered - t0)}:${rc}`);
    if (rc === 5) {
      if (process.env.BENCH_DETAIL) process.stderr.write(`    probe ${port}: ${tries.join(' ')}\n`);
      return { started, answered };
    }
  }
}
async function admittedEverywhere(tag: string): Promise<void> {
  for (const p of ports) {
    for (let k = 0; ; k++) {
      const s = await openLean(device(p, `ready-${tag}-${k}`)).catch(() => undefined);
      s?.socket.destroy();
      if (s?.returnCode === 0) break;
      await sleep(20);
    }
  }
}

/** CPU ms of every process on the machine by a short label (BENCH_DETAIL): where a revocation's CPU goes. */
async function cpuByProcess(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const tick = 100; // USER_HZ on Linux
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(f[11]) + Number(f[12])) * 1000) / tick;
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      const label = /services\/([\w-]+)\//.exec(cmd)?.[1] ?? (/nats-server/.test(cmd) ? 'nats-server' : /fleet-worker/.test(cmd) ? 'fleet' : /revocation\.bench/.test(cmd) ? 'bench' : undefined);
      if (label) out.set(`${label}:${pid}`, ms);
    } catch {
      /* gone */
    }
  }
  return out;
}

type Mode = 'quiet' | 'devices' | 'probes';
const m = { serverAll: [] as number[], fromSent: [] as number[], deviceAll: [] as number[], deviceFirst: [] as number[], serverAllWatched: [] as number[], refuseAll: [] as number[], refuseInEffect: [] as number[], serverAllProbed: [] as number[], patchMs: [] as number[] };
const waitEnded = async (what: string) => {
  for (let i = 0; i < 200 && ended.length < SESSIONS; i++) await sleep(50);
  if (ended.length < SESSIONS) throw new Error(`only ${ended.length} session.ended audit events for ${SESSIONS} sessions (${what})`);
};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const mode of ['quiet', 'devices', 'probes'] as Mode[]) {
      const devices = Array.from({ length: SESSIONS }, (_, i) => device(ports[i % ports.length]!, `dev-${run}-${mode}-${i}`));
      await fleetProc.open(devices, { watch: mode === 'devices' });
      // Let the connect burst's audit events and cache fills finish: revocation is measured on a quiet system.
      await sleep(SETTLE_MS);
      ended = [];
      const cpuBefore = process.env.BENCH_DETAIL ? await cpuByProcess() : undefined;
      const sent = wallNow();
      const r = await patch('SUSPENDED');
      const t0 = wallNow();
      if (r.status !== 200) throw new Error(`PATCH answered ${r.status}`);
      m.patchMs.push(t0 - sent);
      const refusals = mode === 'probes' ? Promise.all(ports.map((p, i) => refusedAt(p, `${run}-${i}`, t0))) : undefined;
      if (mode !== 'devices') await waitEnded(mode);
      // Every session must really be closed by the server (for 'quiet' and 'probes': proven after the fact).
      const closed = await fleetProc.collect(10_000);
      if (closed.open) throw new Error(`${closed.open} sessions still open 10 s after the PATCH`);
      await waitEnded(mode);
      const lastServer = Math.max(...ended.map((e) => e.atMs)) - t0;
      if (cpuBefore) {
        const after = await cpuByProcess();
        const d = [...after].map(([k, v]) => [k.split(':')[0]!, v - (cpuBefore.get(k) ?? v)] as const).filter(([, v]) => v > 0);
        const sum = new Map<string, number>();
        for (const [k, v] of d) sum.set(k, (sum.get(k) ?? 0) + v);
        process.stderr.write(`  ${mode}: CPU ms by process until every close was seen: ${[...sum].map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
      }
      if (process.env.BENCH_DETAIL) {
        const by = new Map<string, number[]>();
        for (const e of ended) by.set(e.source, [...(by.get(e.source) ?? []), e.atMs - t0]);
        process.stderr.write(`  ${mode}: PATCH took ${fmt(t0 - sent)} ms; per replica first/last close: ${[...by.values()].map((xs) => `${fmt(Math.min(...xs))}/${fmt(Math.max(...xs))}`).join(', ')}\n`);
      }
      if (mode === 'quiet') {
        m.serverAll.push(lastServer);
        m.fromSent.push(lastServer + t0 - sent);
      } else if (mode === 'devices') {
        m.serverAllWatched.push(lastServer);
        m.deviceAll.push(Math.max(...closed.times) - t0);
        m.deviceFirst.push(Math.min(...closed.times) - t0);
      } else {
        m.serverAllProbed.push(lastServer);
        const r = (await refusals)!;
        m.refuseAll.push(Math.max(...r.map((x) => x.answered)) - t0);
        m.refuseInEffect.push(Math.max(...r.map((x) => x.started)) - t0);
      }
      await fleetProc.end();
      const back = await patch('VALID');
      if (back.status !== 200) throw new Error(`PATCH VALID answered ${back.status}`);
      await admittedEverywhere(`${run}-${mode}`);
    }
    process.stderr.write(
      `run ${run + 1}/${RUNS}: replicas closed all ${SESSIONS} after ${fmt(m.serverAll.at(-1)!)} ms, devices saw it after ${fmt(m.deviceAll.at(-1)!)} ms; ` +
        `refused everywhere after ${fmt(m.refuseAll.at(-1)!)} ms\n`,
    );
  }
} catch (e) {
  // Say why the brokers refused: their decision counters carry the precise reason.
  for (const u of brokerUrls) {
    const text = await (await fetch(`${u}/metrics`)).text();
    process.stderr.write(`${u}: ${text.split('\n').filter((l) => l.startsWith('twoway_broker_decisions_total') && l.includes('rejected')).join('; ')}\n`);
  }
  throw e;
} finally {
  await nc.close();
}

const row = (label: string, xs: number[]) => {
  const s = summary(xs);
  return `| ${label} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${s.n} |`;
};
console.log(`\ncommand: node --import tsx test/bench/revocation.bench.ts --sessions ${SESSIONS} --runs ${RUNS} --replicas ${REPLICAS} --settle-ms ${SETTLE_MS}`);
console.log(`intermediate SUSPENDED with ${SESSIONS} live sessions on ${REPLICAS} broker replicas; ms from the PATCH response (negative: before it)`);
console.log('| measure | p50 | p90 | p99 | max | runs |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(row('(a) every affected session closed on every replica (broker clock)', m.serverAll));
console.log(row('(a) the same, from the PATCH being sent', m.fromSent));
console.log(row('(a) broker clock, with the devices reading their sockets', m.serverAllWatched));
console.log(row('(a) seen by the devices (server FIN received in the fleet process)', m.deviceAll));
console.log(row('first affected session seen closed by its device', m.deviceFirst));
console.log(row('(b) a new connect refused on every replica (CONNACK 5 received)', m.refuseAll));
console.log(row('(b) refusal in effect: the refused attempt started (later of the replicas)', m.refuseInEffect));
console.log(row('(a) broker clock, while (b) probes every replica', m.serverAllProbed));
console.log(row('the PATCH itself (sent → response; it answers once the change is published)', m.patchMs));
