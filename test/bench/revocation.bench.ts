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
import { readFile } from 'node:fs/promises';
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
async function refusedAt(port: number, tag: string, t0: number): Promise<number> {
  const tries: string[] = [];
  for (let k = 0; ; k++) {
    const start = wallNow();
    const s = await openLean(device(port, `probe-${tag}-${k}`)).catch((e: Error) => e);
    const rc = s instanceof Error ? s.message : s.returnCode;
    if (!(s instanceof Error)) s.socket.destroy();
    tries.push(`${fmt(start - t0)}→${fmt(wallNow() - t0)}:${rc}`);
    if (rc === 5) {
      if (process.env.BENCH_DETAIL) process.stderr.write(`    probe ${port}: ${tries.join(' ')}\n`);
      return wallNow();
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

type Mode = 'quiet' | 'devices' | 'probes';
const m = { serverAll: [] as number[], fromSent: [] as number[], deviceAll: [] as number[], deviceFirst: [] as number[], serverAllWatched: [] as number[], refuseAll: [] as number[], serverAllProbed: [] as number[] };
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
      const sent = wallNow();
      const r = await patch('SUSPENDED');
      const t0 = wallNow();
      if (r.status !== 200) throw new Error(`PATCH answered ${r.status}`);
      const refusals = mode === 'probes' ? Promise.all(ports.map((p, i) => refusedAt(p, `${run}-${i}`, t0))) : undefined;
      if (mode !== 'devices') await waitEnded(mode);
      // Every session must really be closed by the server (for 'quiet' and 'probes': proven after the fact).
      const closed = await fleetProc.collect(10_000);
      if (closed.open) throw new Error(`${closed.open} sessions still open 10 s after the PATCH`);
      await waitEnded(mode);
      const lastServer = Math.max(...ended.map((e) => e.atMs)) - t0;
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
        m.refuseAll.push(Math.max(...(await refusals)!) - t0);
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
console.log(row('(b) a new connect refused on every replica', m.refuseAll));
console.log(row('(a) broker clock, while (b) probes every replica', m.serverAllProbed));
