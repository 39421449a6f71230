// twoway against Mosquitto and bare aedes in one run, on one machine, with the same clients and the
// same device certificates: CPU per mutual-TLS connect, connects per second, delivered messages per
// second, memory per held session and at idle. Every system is counted whole: for twoway that is the
// `twoway up` launcher and everything it runs (nats-server, the four services, the gateway, the broker).
//   npm run bench                     (builds, then runs this with --entry dist and writes docs/benchmarks.md)
//   node --import tsx test/bench/compare.bench.ts [--runs 3] [--devices 200] [--connects 1000]
//     [--sequential 200] [--concurrency 64] [--held 5000] [--seconds 4] [--entry source|dist] [--no-docs]
//
// The servers are pinned to core 0 and this process (the load generator) to core 1 where taskset exists
// and there are two cores, so a server's figures are not its clients'. Each measure is taken in every
// run for every system, in a rotating order; the table gives the median and the spread (min–max).
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  System, OwnedProcess, freePort, makeTestPki, openLean, processTreeStats, tempDir, treePids, waitFor,
  type Entry, type LeanDevice, type LeanSession,
} from '@twoway/testing';
import { RawMqtt } from './raw-mqtt.js';
import { runMessageLoad } from './message-load.js';
import { barChartSvg, type PlotRow } from './plots.js';
import { fmt, mosquittoConf, percentile } from './support.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    devices: { type: 'string', default: '200' },
    connects: { type: 'string', default: '1000' },
    sequential: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '64' },
    held: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '4' },
    publishers: { type: 'string', default: '8' },
    payload: { type: 'string', default: '64' },
    entry: { type: 'string', default: 'source' },
    'no-docs': { type: 'boolean', default: false },
    // DIR: CPU profiles of every twoway Node process over one c=CONCURRENCY connect phase (then exits).
    profile: { type: 'string' },
  },
});
const PROFILE_DIR = values.profile;
const RUNS = Number(values.runs);
const DEVICES = Number(values.devices);
const CONNECTS = Number(values.connects);
const SEQUENTIAL = Number(values.sequential);
const CONCURRENCY = Number(values.concurrency);
const HELD = Number(values.held);
const SECONDS = Number(values.seconds);
const PUBLISHERS = Number(values.publishers);
const PAYLOAD = Number(values.payload);
const ENTRY = values.entry as Entry;
if (ENTRY !== 'source' && ENTRY !== 'dist') throw new Error('--entry is source or dist');
if (DEVICES < PUBLISHERS + 2) throw new Error(`--devices must be at least ${PUBLISHERS + 2}`);
const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
const command = `node --import tsx test/bench/compare.bench.ts --runs ${RUNS} --devices ${DEVICES} --connects ${CONNECTS} --sequential ${SEQUENTIAL} --concurrency ${CONCURRENCY} --held ${HELD} --seconds ${SECONDS} --entry ${ENTRY}`;
const note = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- pinning ----
const PIN = existsSync('/usr/bin/taskset') && cpus().length >= 2;
async function pin(root: number, core: number): Promise<void> {
  if (!PIN) return;
  for (const pid of await treePids(root)) {
    try {
      execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    } catch {
      /* exited meanwhile */
    }
  }
}

// ---- the devices: one key, certificate, username and password each ----
await using dir = await tempDir('twoway-compare-');
const pki = await makeTestPki({ fresh: true });
note(`issuing ${DEVICES} device certificates`);
const identities = await Promise.all(Array.from({ length: DEVICES }, async (_, i) => {
  const username = `dev-${i}`;
  const d = await pki.device(username);
  return { username, password: `pw-${i}-${Math.random().toString(36).slice(2, 12)}`, cert: d.chainPem, key: d.keyPem };
}));

// ---- twoway: the whole system as `twoway up` runs it ----
note(`starting twoway (${ENTRY})`);
const profileEnv: Record<string, string> = PROFILE_DIR ? { NODE_OPTIONS: `--import=${join(here, 'cpu-profile.mjs')}`, BENCH_PROFILE_DIR: PROFILE_DIR } : {};
if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
await using sys = await System.start({ entry: ENTRY, env: { TWOWAY_LOG_LEVEL: 'warn', TWOWAY_MAX_PENDING_PER_IP: String(Math.max(256, CONCURRENCY * 4)), ...profileEnv } });
{
  const must = async (r: Promise<{ status: number; body: any }>, ok: number) => {
    const x = await r;
    if (x.status !== ok) throw new Error(`setup call answered ${x.status}: ${JSON.stringify(x.body)}`);
    return x.body;
  };
  const acc = await must(sys.api('POST', '/api/v1/accounts', { name: 'compare' }), 201);
  await must(sys.api('PUT', `/api/v1/accounts/${acc.id}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } }), 200);
  await must(sys.api('POST', `/api/v1/accounts/${acc.id}/certificates`, { name: 'root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem }), 201);
  await must(sys.api('POST', `/api/v1/accounts/${acc.id}/certificates`, { name: 'intermediate', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.intermediate.certPem }), 201);
  for (const d of identities) await must(sys.api('POST', `/api/v1/accounts/${acc.id}/credentials`, { username: d.username, password: d.password }), 201);
}
const serverCa = await readFile(sys.caFile, 'utf8');

// ---- the same rule for the others: the fleet CA, a client certificate required, the password list ----
// mosquitto started as root drops to its own user: everything it reads must be readable by others.
execFileSync('chmod', ['0755', dir.path]);
const file = async (name: string, text: string | Buffer) => {
  const p = join(dir.path, name);
  await writeFile(p, text, { mode: 0o644 });
  return p;
};
const serverCert = await file('server.pem', await readFile(join(sys.dataDir, 'pki', 'server.pem')));
const serverKey = await file('server.key', await readFile(join(sys.dataDir, 'pki', 'server.key')));
const fleetCa = await file('fleet-ca.pem', pki.root.certPem + pki.intermediate.certPem);
const pwFile = await file('passwd', identities.map((d) => `${d.username}:${d.password}`).join('\n') + '\n');
execFileSync('mosquitto_passwd', ['-U', pwFile]); // hashes the plain-text list in place
const mport = await freePort();
const mconf = await file('mosquitto.conf', mosquittoConf({ port: mport, cafile: fleetCa, certfile: serverCert, keyfile: serverKey, passwordFile: pwFile }));
execFileSync('chmod', ['0644', pwFile]);
await using mosq = OwnedProcess.spawn('mosquitto', 'mosquitto', ['-c', mconf]);
const aport = await freePort();
const aconf = await file('aedes.json', JSON.stringify({ cert: serverCert, key: serverKey, ca: fleetCa, passwords: Object.fromEntries(identities.map((d) => [d.username, d.password])) }));
await using aedes = OwnedProcess.spawn('bare aedes', process.execPath, ['--import', 'tsx', join(here, 'bare-aedes.ts'), String(aport), '--tls', aconf], { cwd: repoRoot });

interface Server {
  name: 'Mosquitto' | 'bare aedes' | 'twoway';
  port: number;
  pid: number;
}
const servers: Server[] = [
  { name: 'Mosquitto', port: mport, pid: mosq.child.pid! },
  { name: 'bare aedes', port: aport, pid: aedes.child.pid! },
  { name: 'twoway', port: sys.mqttPort, pid: sys.proc.child.pid! },
];
const device = (s: Server, i: number, clientId: string): LeanDevice => {
  const d = identities[i % identities.length]!;
  return { host: '127.0.0.1', port: s.port, servername: 'localhost', ca: serverCa, cert: d.cert, key: d.key, username: d.username, password: d.password, clientId };
};
for (const s of servers) {
  await waitFor(async () => {
    const r = await openLean(device(s, 0, 'probe'), 5_000).catch(() => undefined);
    r?.socket.destroy();
    return r?.returnCode === 0;
  }, { what: `${s.name} to accept a device`, timeoutMs: 30_000 });
}
for (const s of servers) await pin(s.pid, 0);
await pin(process.pid, 1);

// ---- measures ----
const stats = async (s: Server) => processTreeStats([{ name: s.name, pid: s.pid }]);
const cpuOf = async (s: Server) => (await stats(s)).cpuMs[s.name]!;
const rssOf = async (s: Server) => (await stats(s)).rssBytes[s.name]!;

let seq = 0;
/** `n` connect + CONNACK + DISCONNECT + close, `conc` at once: server CPU per connect, rate, latency. */
async function connects(s: Server, n: number, conc: number): Promise<{ cpuMs: number; perSecond: number; p50: number }> {
  const lat: number[] = [];
  let next = 0;
  const cpu0 = await cpuOf(s);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const i = next++;
      const st = performance.now();
      const r = await openLean(device(s, i, `c${++seq}`));
      lat.push(performance.now() - st);
      if (r.returnCode !== 0) throw new Error(`${s.name} refused device ${i}: CONNACK ${r.returnCode}`);
      r.socket.end(Buffer.from([0xe0, 0]));
      await r.closed;
    }
  }));
  const ms = performance.now() - t0;
  await sleep(200); // the server's side of the closes
  const cpu = (await cpuOf(s)) - cpu0;
  lat.sort((a, b) => a - b);
  return { cpuMs: cpu / n, perSecond: (n / ms) * 1000, p50: percentile(lat, 50) };
}

/** 8 publishers → 2 subscribers of `bench/+/data`, closed loop: delivered msg/s and server CPU per 1000. */
async function messages(s: Server, qos: 0 | 1): Promise<{ rate: number; cpuPerK: number }> {
  const id = `m${++seq}`;
  const subs = await Promise.all([0, 1].map((i) => RawMqtt.openTls(device(s, i, `${id}-sub-${i}`))));
  for (const c of subs) await c.subscribe('bench/+/data', qos);
  const pubs = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => RawMqtt.openTls(device(s, 2 + i, `${id}-pub-${i}`))));
  let cpu0 = 0;
  let cpu = 0;
  const r = await runMessageLoad(pubs, subs, { qos, window: 2000, inflight: 32, payload: PAYLOAD, warmupMs: 1000, seconds: SECONDS }, {
    start: async () => void (cpu0 = await cpuOf(s)),
    stop: async () => void (cpu = (await cpuOf(s)) - cpu0),
  });
  await sleep(500);
  return { rate: r.rate, cpuPerK: (cpu / r.delivered) * 1000 };
}

/** Hold `n` sessions: resident memory per session (the growth over what it held before, all processes together). */
async function held(s: Server, n: number): Promise<{ kibPerSession: number }> {
  await sleep(1000);
  const idle = await rssOf(s);
  const open: LeanSession[] = [];
  let next = 0;
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        const r = await openLean(device(s, i, `h${++seq}`), 30_000);
        open.push(r);
        if (r.returnCode !== 0) throw new Error(`${s.name} refused held session ${i}: CONNACK ${r.returnCode}`);
      }
    }));
    await sleep(3000);
    const full = await rssOf(s);
    return { kibPerSession: (full - idle) / 1024 / n };
  } finally {
    for (const r of open) r.socket.destroy();
    await sleep(2000);
  }
}

interface Measure {
  key: string;
  label: string;
  unit: string;
  higherIsBetter?: boolean;
  values: Map<string, number[]>;
}
const measures: Measure[] = [
  { key: 'cpu1', label: 'server CPU per mTLS connect+close, c=1', unit: 'ms', values: new Map() },
  { key: 'cpu64', label: `server CPU per mTLS connect+close, c=${CONCURRENCY}`, unit: 'ms', values: new Map() },
  { key: 'cps', label: `connects/s, c=${CONCURRENCY}`, unit: 'connects/s', higherIsBetter: true, values: new Map() },
  { key: 'lat1', label: 'connect to CONNACK p50, c=1', unit: 'ms', values: new Map() },
  { key: 'q0', label: `QoS 0, ${PAYLOAD} B, ${PUBLISHERS} publishers → 2 subscribers, delivered`, unit: 'msg/s', higherIsBetter: true, values: new Map() },
  { key: 'q1', label: `QoS 1, ${PAYLOAD} B, ${PUBLISHERS} publishers → 2 subscribers, delivered`, unit: 'msg/s', higherIsBetter: true, values: new Map() },
  { key: 'q0cpu', label: 'server CPU per 1000 delivered, QoS 0', unit: 'ms', values: new Map() },
  { key: 'q1cpu', label: 'server CPU per 1000 delivered, QoS 1', unit: 'ms', values: new Map() },
  { key: 'held', label: `RSS per held session, ${HELD} held`, unit: 'KiB', values: new Map() },
  { key: 'idle', label: 'RSS idle after start, every process', unit: 'MiB', values: new Map() },
];
const record = (key: string, s: Server, v: number) => {
  const m = measures.find((x) => x.key === key)!;
  (m.values.get(s.name) ?? m.values.set(s.name, []).get(s.name)!).push(v);
};

const started = Date.now();
// The idle footprint: started, provisioned, one device accepted, nothing else yet.
await sleep(2000);
for (const s of servers) record('idle', s, (await rssOf(s)) / 1024 / 1024);
for (const s of servers) await connects(s, 50, 8); // warm-up: twoway's caches, every server's code paths

if (PROFILE_DIR) {
  // Each Node process of twoway writes the profile since the previous mark on SIGUSR2 (cpu-profile.mjs).
  const tw = servers.find((s) => s.name === 'twoway')!;
  const comm = (p: number) => readFile(`/proc/${p}/comm`, 'utf8').then((c) => c.trim(), () => '');
  const nodes: number[] = [];
  for (const p of await treePids(tw.pid)) if ((await comm(p)) === 'node') nodes.push(p);
  const written = (p: number) => stat(join(PROFILE_DIR, `${p}.cpuprofile`)).then((x) => x.mtimeMs, () => 0);
  const mark = async () => {
    const before = await Promise.all(nodes.map(written));
    nodes.forEach((p) => process.kill(p, 'SIGUSR2'));
    await waitFor(async () => (await Promise.all(nodes.map(written))).every((t, i) => t > before[i]!), { what: 'the profiles written', timeoutMs: 30_000 });
  };
  await mark();
  const c = await connects(tw, CONNECTS, CONCURRENCY);
  await mark();
  note(`profiled ${CONNECTS} connects at c=${CONCURRENCY} (${fmt(c.cpuMs)} ms of system CPU each): profiles of pids ${nodes.join(', ')} in ${PROFILE_DIR}; summarise with node test/bench/profile-top.mjs ${PROFILE_DIR}/*.cpuprofile`);
} else {
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order so that a drift in the machine's load does not favour one system.
    const order = servers.map((_, i) => servers[(i + run) % servers.length]!);
    for (const s of order) {
      const c1 = await connects(s, SEQUENTIAL, 1);
      record('cpu1', s, c1.cpuMs);
      record('lat1', s, c1.p50);
      const c64 = await connects(s, CONNECTS, CONCURRENCY);
      record('cpu64', s, c64.cpuMs);
      record('cps', s, c64.perSecond);
      for (const qos of [0, 1] as const) {
        const m = await messages(s, qos);
        record(`q${qos}`, s, m.rate);
        record(`q${qos}cpu`, s, m.cpuPerK);
      }
      const h = await held(s, HELD);
      record('held', s, h.kibPerSession);
      note(`run ${run + 1}/${RUNS} ${s.name}: c=1 ${fmt(c1.cpuMs)} ms, c=${CONCURRENCY} ${fmt(c64.cpuMs)} ms ${fmt(c64.perSecond)}/s, held ${fmt(h.kibPerSession)} KiB (load ${loadavg()[0]!.toFixed(1)})`);
    }
  }

  // ---- report ----
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const cell = (xs: number[] | undefined) => (xs?.length ? `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '-');
  const ratio = (m: Measure, a: string, b: string) => {
    const x = m.values.get(a);
    const y = m.values.get(b);
    return x?.length && y?.length ? fmt(median(x) / median(y)) : '-';
  };
  const mosquittoVersion = (() => {
    try {
      return execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).match(/version ([\d.]+)/)?.[1] ?? '?';
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? '').match(/version ([\d.]+)/)?.[1] ?? '?';
    }
  })();
  const aedesVersion = JSON.parse(await readFile(join(repoRoot, 'node_modules/aedes/package.json'), 'utf8')).version as string;
  const lines = [
    `command: ${command}`,
    `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Mosquitto ${mosquittoVersion}, aedes ${aedesVersion}; servers ${PIN ? 'pinned to core 0, load generator to core 1' : 'not pinned (no taskset or one core)'}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${Math.round((Date.now() - started) / 1000)} s`,
    `ECDSA P-256 device certificates (${DEVICES}, one per device, each with its own username and password), TLS 1.2+, mutual TLS + password; medians of ${RUNS} runs (min–max); CPU and RSS summed over every process of each system`,
    '',
    '| measure | Mosquitto | bare aedes | twoway | twoway / Mosquitto | twoway / bare aedes |',
    '| --- | --- | --- | --- | --- | --- |',
    ...measures.map((m) => `| ${m.label} (${m.unit}) | ${cell(m.values.get('Mosquitto'))} | ${cell(m.values.get('bare aedes'))} | ${cell(m.values.get('twoway'))} | ${ratio(m, 'twoway', 'Mosquitto')} | ${ratio(m, 'twoway', 'bare aedes')} |`),
  ];
  console.log(lines.join('\n'));

  if (!values['no-docs']) {
    const plotDir = join(repoRoot, 'docs', 'bench');
    await mkdir(plotDir, { recursive: true });
    const images: string[] = [];
    for (const m of measures) {
      const rows: PlotRow[] = servers.flatMap((s) => {
        const xs = m.values.get(s.name);
        return xs?.length ? [{ system: s.name, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }] : [];
      });
      const name = `compare-${m.key}.svg`;
      await barChartSvg(m.label, m.unit, rows, join(plotDir, name), { higherIsBetter: m.higherIsBetter ?? false });
      images.push(`![${m.label}](bench/${name})`);
    }
    const section = [
      '<!-- compare:begin (written by npm run bench) -->',
      '## twoway, Mosquitto and bare aedes side by side',
      '',
      'Mosquitto with `require_certificate true`, the fleet CA, a password file with every device and',
      '`set_tcp_nodelay true`; bare aedes on `node:tls` with the same CA, a client certificate required and',
      'the same passwords; twoway as `twoway up` runs it (the embedded nats-server, every service, the',
      'launcher), with an account on mutual TLS whose root and intermediate are registered and every',
      'device a credential. Same clients (`test/bench/raw-mqtt.ts`, `libs/testing` lean MQTT), same',
      'certificates. Ratios are of the medians.',
      '',
      '```',
      ...lines.slice(0, 3),
      '```',
      '',
      ...lines.slice(4),
      '',
      ...images.map((i) => `${i}\n`),
      '<!-- compare:end -->',
    ].join('\n');
    const docPath = join(repoRoot, 'docs', 'benchmarks.md');
    const doc = await readFile(docPath, 'utf8');
    const begin = doc.indexOf('<!-- compare:begin');
    const end = doc.indexOf('<!-- compare:end -->');
    const next = begin >= 0 && end > begin
      ? doc.slice(0, begin) + section + doc.slice(end + '<!-- compare:end -->'.length)
      : doc.replace(/\n## /, `\n${section}\n\n## `);
    await writeFile(docPath, next);
    note(`wrote docs/benchmarks.md and ${images.length} plots in docs/bench/`);
  }
}
