// Message throughput of the twoway broker against bare aedes, in the same run on the same machine,
// reported as ratios (twoway / bare aedes): 8 publishers → 2 subscribers (`bench/+/data`), 64-byte
// payloads, clean sessions, QoS 0 and QoS 1, delivered messages per second (each subscriber's count).
//   node --import tsx test/bench/message-path.bench.ts [--rounds 5] [--seconds 4] [--warmup 1] [--window 2000] [--inflight 32]
//
// Targets, each a process of its own with its CPU counted from /proc (and nats-server's):
//   bare      aedes with its defaults on plain TCP (test/bench/bare-aedes.ts)
//   twoway×1  `twoway up` (real services, NATS) with one broker replica, everybody on it
//   twoway×3  three broker replicas: the publishers on the first, one subscriber on each other
// Clients reach twoway on its plain TCP development listener (TWOWAY_MQTT_PLAIN_PORT) with a password:
// the connect decision and TLS are outside what is measured, and bare aedes is on TCP too.
// Load is closed-loop: publishers stop when the subscribers are `--window` messages behind (QoS 0), or a
// publisher has `--inflight` unacknowledged messages (QoS 1), so the figure is the sustained rate.
// Phase 1 measures bare and twoway×1 alternately; the two extra replicas then start, and phase 2
// measures bare and twoway×3 alternately. Each twoway figure is divided by the bare figure of its round.
import { parseArgs } from 'node:util';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { System, OwnedProcess, freePort, waitFor } from '@twoway/testing';
import { RawMqtt } from './raw-mqtt.js';
import { runMessageLoad } from './message-load.js';
import { fmt } from './support.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '1' },
    window: { type: 'string', default: '2000' },
    inflight: { type: 'string', default: '32' },
    publishers: { type: 'string', default: '8' },
    payload: { type: 'string', default: '64' },
    phases: { type: 'string', default: '1,3' },
  },
});
const PHASES = values.phases!.split(',');
// BENCH_PROFILE_DIR=DIR: every broker writes a V8 CPU profile of the measured windows there (cpu-profile.mjs).
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const profileEnv: Record<string, string> = PROFILE_DIR ? { NODE_OPTIONS: `--import=${fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url))}`, BENCH_PROFILE_DIR: PROFILE_DIR } : {};
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const WINDOW = Number(values.window);
const INFLIGHT = Number(values.inflight);
const PUBLISHERS = Number(values.publishers);
const PAYLOAD = Number(values.payload);
const SUBSCRIBERS = 2;
const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
const TICK_HZ = 100; // /proc CPU times are in clock ticks (USER_HZ)

// ---- CPU of processes, from /proc ----
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(after[11]) + Number(after[12])) * 1000) / TICK_HZ; // utime + stime
  } catch {
    return 0;
  }
}
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(root);
  return out;
}
const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};
/** Label a process: what the message path runs on. */
function label(pid: number): string | undefined {
  const c = cmdline(pid);
  if (c.includes('nats-server')) return 'nats-server';
  if (c.includes('services/broker/src/main.ts') || c.includes('broker')) return 'broker';
  if (c.includes('bare-aedes.ts')) return 'aedes';
  return undefined;
}

// ---- the system ----
const plainPorts = [await freePort(), await freePort(), await freePort()];
await using sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn', TWOWAY_MQTT_PLAIN_PORT: String(plainPorts[0]), ...profileEnv } });
const username = 'bench-msg';
const password = 'bench-password-123';
{
  const must = async (r: Promise<{ status: number; body: any }>, ok: number) => {
    const x = await r;
    if (x.status !== ok) throw new Error(`setup call answered ${x.status}: ${JSON.stringify(x.body)}`);
    return x.body;
  };
  // Plain TLS only (no client certificate): on the plain TCP listener a password is the whole decision.
  const acc = await must(sys.api('POST', '/api/v1/accounts', { name: 'bench-msg' }), 201);
  await must(sys.api('PUT', `/api/v1/accounts/${acc.id}/settings`, { tls: { enabled: true }, mutualTls: { available: true, enabled: false } }), 200);
  await must(sys.api('POST', `/api/v1/accounts/${acc.id}/credentials`, { username, password }), 201);
}
const barePort = await freePort();
await using bare = OwnedProcess.spawn('bare aedes', process.execPath, ['--import', 'tsx', join(here, 'bare-aedes.ts'), String(barePort)], { cwd: repoRoot });
await waitFor(() => {
  if (!bare.running) throw new Error(`bare aedes exited:\n${bare.log}`);
  return bare.log.includes('listening');
}, { what: 'bare aedes', timeoutMs: 20_000 });

interface Target {
  name: string;
  /** Port of the publishers' broker, then of each subscriber's. */
  pubPort: number;
  subPorts: number[];
  pids: () => number[];
}
const systemPids = () => [sys.proc.child.pid!, ...descendants(sys.proc.child.pid!)];
const replicaProcs: OwnedProcess[] = [];
const twowayPids = () => [...systemPids(), ...replicaProcs.flatMap((p) => [p.child.pid!, ...descendants(p.child.pid!)])].filter((p) => label(p) === 'broker' || label(p) === 'nats-server');
const bareTarget: Target = { name: 'bare aedes', pubPort: barePort, subPorts: [barePort, barePort], pids: () => [bare.child.pid!] };
const one: Target = { name: 'twoway, 1 replica', pubPort: plainPorts[0]!, subPorts: [plainPorts[0]!, plainPorts[0]!], pids: twowayPids };
const three: Target = { name: 'twoway, 3 replicas', pubPort: plainPorts[0]!, subPorts: [plainPorts[1]!, plainPorts[2]!], pids: twowayPids };

interface Run { rate: number; cpuMsPerKMsg: number; cpuByLabel: Record<string, number>; benchCpuPct: number }

let runNo = 0;
async function measure(t: Target, qos: 0 | 1): Promise<Run> {
  const id = `r${++runNo}`;
  const subs = await Promise.all(t.subPorts.map((p, i) => RawMqtt.open(p, `${id}-sub-${i}`, username, password)));
  for (const s of subs) await s.subscribe('bench/+/data', qos);
  const pubs = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => RawMqtt.open(t.pubPort, `${id}-pub-${i}`, username, password)));
  const pids = t.pids();
  let cpu0 = new Map<number, number>();
  const cpuByLabel: Record<string, number> = {};
  const r = await runMessageLoad(pubs, subs, { qos, window: WINDOW, inflight: INFLIGHT, payload: PAYLOAD, warmupMs: WARMUP * 1000, seconds: SECONDS }, {
    start: () => void (cpu0 = new Map(pids.map((p) => [p, cpuMs(p)]))),
    stop: () => {
      for (const p of pids) {
        const l = label(p) ?? 'other';
        cpuByLabel[l] = (cpuByLabel[l] ?? 0) + cpuMs(p) - cpu0.get(p)!;
      }
    },
  });
  const serverCpu = Object.values(cpuByLabel).reduce((a, b) => a + b, 0);
  // Let the brokers drain what is in flight before the next run.
  await new Promise((r) => setTimeout(r, 500));
  return { rate: r.rate, cpuMsPerKMsg: (serverCpu / r.delivered) * 1000, cpuByLabel, benchCpuPct: r.benchCpuPct };
}

const results = new Map<string, Run[]>();
const ratios = new Map<string, number[]>();
const cpuRatios = new Map<string, number[]>();
const push = <T>(m: Map<string, T[]>, k: string, v: T) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);

async function phase(t: Target): Promise<void> {
  for (let r = 0; r < ROUNDS; r++) {
    for (const qos of [0, 1] as const) {
      // Alternate which goes first so a drift in the machine's load does not favour one side.
      const order = r % 2 === 0 ? [bareTarget, t] : [t, bareTarget];
      const got = new Map<Target, Run>();
      for (const x of order) got.set(x, await measure(x, qos));
      const b = got.get(bareTarget)!;
      const w = got.get(t)!;
      push(results, `${bareTarget.name} (with ${t.name}) QoS ${qos}`, b);
      push(results, `${t.name} QoS ${qos}`, w);
      push(ratios, `${t.name} QoS ${qos}`, w.rate / b.rate);
      push(cpuRatios, `${t.name} QoS ${qos}`, w.cpuMsPerKMsg / b.cpuMsPerKMsg);
      console.error(`round ${r + 1} QoS ${qos}: bare ${b.rate.toFixed(0)}/s, ${t.name} ${w.rate.toFixed(0)}/s (${(w.rate / b.rate).toFixed(2)}); CPU ms per 1000: ${b.cpuMsPerKMsg.toFixed(1)} vs ${w.cpuMsPerKMsg.toFixed(1)} ${JSON.stringify(Object.fromEntries(Object.entries(w.cpuByLabel).map(([k, v]) => [k, Math.round(v)])))}`);
    }
  }
}

const t0 = Date.now();
/** Each broker writes the profile since the previous mark (the last one written is kept). */
const profileMark = () => twowayPids().filter((p) => label(p) === 'broker').forEach((p) => process.kill(p, 'SIGUSR2'));
if (PHASES.includes('1')) {
  if (PROFILE_DIR) profileMark();
  await phase(one);
}
if (PHASES.includes('3')) {
  for (const p of plainPorts.slice(1)) replicaProcs.push((await sys.startBrokerReplica({ TWOWAY_MQTT_PLAIN_PORT: String(p), ...profileEnv })).proc);
  if (PROFILE_DIR) profileMark();
  await phase(three);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const spread = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
console.log(`\ncommand: node --import tsx test/bench/message-path.bench.ts --phases ${PHASES.join(',')} --rounds ${ROUNDS} --seconds ${SECONDS} --warmup ${WARMUP} --window ${WINDOW} --inflight ${INFLIGHT} --publishers ${PUBLISHERS} --payload ${PAYLOAD}`);
console.log(`${PUBLISHERS} publishers → ${SUBSCRIBERS} subscribers, ${PAYLOAD} B payloads, clean sessions, plain TCP; delivered msg/s (both subscribers); medians of ${ROUNDS} rounds (min–max)`);
console.log('| target | QoS | delivered msg/s | server CPU ms per 1000 delivered | ratio msg/s (twoway / bare, same round) | ratio CPU per msg |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [k, runs] of results) {
  const [name, qos] = k.split(' QoS ');
  const rate = runs.map((x) => x.rate);
  const cpu = runs.map((x) => x.cpuMsPerKMsg);
  const r = ratios.get(k);
  const c = cpuRatios.get(k);
  console.log(`| ${name} | ${qos} | ${fmt(median(rate))} (${spread(rate)}) | ${fmt(median(cpu))} (${spread(cpu)}) | ${r ? `**${fmt(median(r))}** (${spread(r)})` : ''} | ${c ? `${fmt(median(c))} (${spread(c)})` : ''} |`);
}
const by = (k: string) => results.get(k)!;
console.log('\nserver CPU by process, ms per 1000 delivered (median):');
for (const k of [...results.keys()].filter((k) => k.startsWith('twoway'))) {
  const labels = new Set(by(k).flatMap((r) => Object.keys(r.cpuByLabel)));
  const parts = [...labels].map((l) => `${l} ${fmt(median(by(k).map((r) => ((r.cpuByLabel[l] ?? 0) / (r.rate * SECONDS)) * 1000)))}`);
  console.log(`- ${k}: ${parts.join(', ')}`);
}
console.log(`load generator (this process) CPU: median ${fmt(median([...results.values()].flat().map((r) => r.benchCpuPct)))} % of a core`);
if (PROFILE_DIR) profileMark();
console.log(`total run time ${Math.round((Date.now() - t0) / 1000)} s`);
for (const p of replicaProcs) await p.stop();
