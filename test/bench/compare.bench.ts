// twoway against Mosquitto and bare aedes in one run, on one machine, with the same clients and the
// same device certificates: CPU per mutual-TLS connect, connects per second, delivered messages per
// second, memory per held session and at idle, and a reconnect storm after a server restart. Every
// system is counted whole: for twoway that is the `twoway up` launcher and everything it runs
// (nats-server, the four services, the gateway, the broker).
//   npm run bench                     (builds, then runs this with --entry dist and writes docs/benchmarks.md)
//   node --import tsx test/bench/compare.bench.ts [--runs 3] [--devices 200] [--connects 1000]
//     [--sequential 200] [--concurrency 64] [--held 5000] [--storm 10000] [--storm-concurrency 200]
//     [--seconds 4] [--entry source|dist] [--no-docs] [--profile DIR [--profile-phase connect|qos0|qos1]
//     [--profile-system twoway|bare]]
//
// The servers are pinned to core 0 and this process and its device fleet (the load generator) to core 1
// where taskset exists and there are two cores, so a server's figures are not its clients'. Each measure
// is taken in every run for every system, in a rotating order; the table gives the median and the
// spread (min–max). Connects and messages run on one instance of each system started at the beginning;
// memory and the storm on a fresh instance of each per run, so that memory a server already touched
// (and its allocator reuses) does not hide what sessions cost.
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  HeldFleet, System, OwnedProcess, cpuSince, freePort, makeTestPki, openLean, processTreeStats, tempDir, treeCpuByPid, treePids, waitFor, wallNow,
  type Entry, type HeldDevice, type HeldStatus, type LeanDevice,
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
    // Devices connected when the server is killed and restarted (0: no storm), and how many of their
    // connects the generator keeps in flight at once.
    storm: { type: 'string', default: '10000' },
    'storm-concurrency': { type: 'string', default: '200' },
    seconds: { type: 'string', default: '4' },
    publishers: { type: 'string', default: '8' },
    payload: { type: 'string', default: '64' },
    entry: { type: 'string', default: 'source' },
    'no-docs': { type: 'boolean', default: false },
    // DIR: CPU profiles of every twoway Node process over one phase (then exits): the c=CONCURRENCY
    // connects (connect), or the QoS 0 or QoS 1 message load (qos0, qos1), as --profile-phase says.
    profile: { type: 'string' },
    'profile-phase': { type: 'string', default: 'connect' },
    // Whose Node processes are profiled: twoway's, or bare aedes (the same code paths without twoway).
    'profile-system': { type: 'string', default: 'twoway' },
  },
});
const PROFILE_DIR = values.profile;
const PROFILED = ({ twoway: 'twoway', bare: 'bare aedes' } as const)[values['profile-system'] as 'twoway' | 'bare'];
if (!PROFILED) throw new Error(`--profile-system: twoway or bare, not ${values['profile-system']}`);
const RUNS = Number(values.runs);
const DEVICES = Number(values.devices);
const CONNECTS = Number(values.connects);
const SEQUENTIAL = Number(values.sequential);
const CONCURRENCY = Number(values.concurrency);
const HELD = Number(values.held);
const STORM = Number(values.storm);
const STORM_CONCURRENCY = Number(values['storm-concurrency']);
const SECONDS = Number(values.seconds);
const PUBLISHERS = Number(values.publishers);
const PAYLOAD = Number(values.payload);
const ENTRY = values.entry as Entry;
if (ENTRY !== 'source' && ENTRY !== 'dist') throw new Error('--entry is source or dist');
if (DEVICES < PUBLISHERS + 2) throw new Error(`--devices must be at least ${PUBLISHERS + 2}`);
const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
const command = `node --import tsx test/bench/compare.bench.ts --runs ${RUNS} --devices ${DEVICES} --connects ${CONNECTS} --sequential ${SEQUENTIAL} --concurrency ${CONCURRENCY} --held ${HELD} --storm ${STORM} --storm-concurrency ${STORM_CONCURRENCY} --seconds ${SECONDS} --entry ${ENTRY}`;
const note = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
/**
 * How every storm device reconnects, the same for the three systems (held-fleet-worker.ts): within
 * 0–100 ms of losing its session, then after each failed attempt an exponential backoff from 200 ms,
 * jittered between half and all of it, capped at 3 s.
 */
const STORM_BACKOFF = { minMs: 100, maxMs: 3_000 };
/** Generous bounds for a fleet to connect (a loaded 2-core machine manages some tens of connects a second). */
const fleetTimeoutMs = (n: number) => 120_000 + n * 100;

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

// ---- the three systems, started the same way every time (the instance kept for the run and the fresh ones) ----
type SystemName = 'Mosquitto' | 'bare aedes' | 'twoway';

interface Server extends AsyncDisposable {
  readonly name: SystemName;
  readonly port: number;
  /** The root of every process of the system (for twoway the `twoway up` launcher); changes when it is restarted. */
  readonly pid: number;
  /**
   * kill -9 of the MQTT server process, which then starts again on the same port: Mosquitto and bare
   * aedes at once, twoway's broker by the `twoway up` supervisor (as a crashed replica comes back).
   * Resolves once the killed process is gone.
   */
  crash(): Promise<void>;
  /** Throws if the system stopped running (e.g. the restarted server could not bind its port). */
  check(): void;
  stop(): Promise<void>;
}

/** Mosquitto or bare aedes: one process of ours, spawned pinned to the servers' core so a restart stays there. */
class OwnServer implements Server {
  private proc: OwnedProcess;
  constructor(readonly name: SystemName, readonly port: number, private readonly argv: string[], private readonly env: Record<string, string> = {}) {
    this.proc = this.spawn();
  }
  private spawn(): OwnedProcess {
    const [cmd, ...args] = PIN ? ['taskset', '-c', '0', ...this.argv] : this.argv;
    return OwnedProcess.spawn(this.name, cmd!, args, { cwd: repoRoot, env: { ...process.env, ...this.env } });
  }
  get pid(): number {
    return this.proc.child.pid!;
  }
  async crash(): Promise<void> {
    await this.proc.kill9();
    this.proc = this.spawn();
  }
  check(): void {
    if (!this.proc.running) throw new Error(`${this.name} exited (${this.proc.exitCode}):\n${this.proc.log}`);
  }
  stop(): Promise<void> {
    return this.proc.stop();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

class TwowayServer implements Server {
  readonly name = 'twoway';
  constructor(readonly sys: System, private readonly ownDir?: string) {}
  get port(): number {
    return this.sys.mqttPort;
  }
  get pid(): number {
    return this.sys.proc.child.pid!;
  }
  async crash(): Promise<void> {
    // The supervisor keeps the broker's current pid in its pid file; it must be one of this system's processes.
    const pid = Number((await readFile(join(this.sys.dataDir, 'run', 'broker.pid'), 'utf8')).trim());
    if (!(await treePids(this.pid)).includes(pid)) throw new Error(`broker pid ${pid} is not a process of this twoway`);
    process.kill(pid, 'SIGKILL');
    // Returns once `up` has reaped it, as kill9() of the others does: a zombie thread group leader may
    // still have threads exiting, and with them its listening socket.
    await waitFor(() => !existsSync(`/proc/${pid}`), { what: `broker ${pid} gone after kill -9`, timeoutMs: 10_000, everyMs: 5 });
  }
  check(): void {
    if (!this.sys.proc.running) throw new Error(`twoway up exited:\n${this.sys.proc.log}`);
  }
  async stop(): Promise<void> {
    await this.sys.stop();
    if (this.ownDir) await rm(this.ownDir, { recursive: true, force: true });
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

// ---- twoway: the whole system as `twoway up` runs it ----
note(`starting twoway (${ENTRY})`);
const profileEnv: Record<string, string> = PROFILE_DIR ? { NODE_OPTIONS: `--import=${join(here, 'cpu-profile.mjs')}`, BENCH_PROFILE_DIR: PROFILE_DIR } : {};
if (PROFILE_DIR) await mkdir(PROFILE_DIR, { recursive: true });
// Every device of the bench connects from 127.0.0.1: the per-address bound on unauthenticated sockets
// must let the generator's concurrent connects through (a fleet has many addresses).
const twowayEnv = { TWOWAY_LOG_LEVEL: 'warn', TWOWAY_MAX_PENDING_PER_IP: String(Math.max(256, CONCURRENCY * 4, STORM_CONCURRENCY * 2)) };
/** One account on mutual TLS with the fleet's root and intermediate registered, every device a credential. */
async function provision(sys: System): Promise<void> {
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
const mainSys = await System.start({ entry: ENTRY, env: { ...twowayEnv, ...(PROFILED === 'twoway' ? profileEnv : {}) } });
await using mainTwoway = new TwowayServer(mainSys);
await provision(mainSys);
const serverCa = await readFile(mainSys.caFile, 'utf8');

/** Another `twoway up` with the same server certificate (the first one's dev PKI), provisioned the same way. */
async function freshTwoway(): Promise<Server> {
  const dataDir = await mkdtemp(join(dir.path, 'twoway-'));
  await cp(join(mainSys.dataDir, 'pki'), join(dataDir, 'pki'), { recursive: true });
  const sys = await System.start({ entry: ENTRY, dataDir, env: twowayEnv }).catch(async (e: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw e;
  });
  const s = new TwowayServer(sys, dataDir);
  await provision(sys).catch(async (e: unknown) => {
    await s.stop();
    throw e;
  });
  return s;
}

// ---- the same rule for the others: the fleet CA, a client certificate required, the password list ----
// mosquitto started as root drops to its own user: everything it reads must be readable by others.
execFileSync('chmod', ['0755', dir.path]);
const file = async (name: string, text: string | Buffer) => {
  const p = join(dir.path, name);
  await writeFile(p, text, { mode: 0o644 });
  return p;
};
const serverCert = await file('server.pem', await readFile(join(mainSys.dataDir, 'pki', 'server.pem')));
const serverKey = await file('server.key', await readFile(join(mainSys.dataDir, 'pki', 'server.key')));
const fleetCa = await file('fleet-ca.pem', pki.root.certPem + pki.intermediate.certPem);
const pwFile = await file('passwd', identities.map((d) => `${d.username}:${d.password}`).join('\n') + '\n');
execFileSync('mosquitto_passwd', ['-U', pwFile]); // hashes the plain-text list in place
execFileSync('chmod', ['0644', pwFile]);
// Bare aedes runs as twoway does: with --entry dist compiled ahead of time (its own code only; aedes
// from node_modules), so that neither pays a TypeScript loader at start (the storm restarts it).
const aedesEntry = ENTRY === 'dist' ? join(here, 'dist', 'bare-aedes.mjs') : join(here, 'bare-aedes.ts');
if (ENTRY === 'dist') await build({ entryPoints: [join(here, 'bare-aedes.ts')], outfile: aedesEntry, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
const aconf = await file('aedes.json', JSON.stringify({ cert: serverCert, key: serverKey, ca: fleetCa, passwords: Object.fromEntries(identities.map((d) => [d.username, d.password])) }));

const device = (s: Server, i: number, clientId: string): LeanDevice => {
  const d = identities[i % identities.length]!;
  return { host: '127.0.0.1', port: s.port, servername: 'localhost', ca: serverCa, cert: d.cert, key: d.key, username: d.username, password: d.password, clientId };
};
async function accepting(s: Server): Promise<void> {
  let last = 'no attempt';
  await waitFor(async () => {
    s.check();
    const r = await openLean(device(s, 0, 'probe'), 5_000).catch((e: Error) => (last = e.message, undefined));
    r?.socket.destroy();
    if (r) last = `CONNACK ${r.returnCode}`;
    return r?.returnCode === 0;
  }, { what: `${s.name} to accept a device`, timeoutMs: 60_000 }).catch(async (e: Error) => {
    // What the last probe got and, for twoway, its services' logs: which part did not come up.
    throw new Error(`${e.message} (last probe: ${last})${s instanceof TwowayServer ? `\n${await s.sys.serviceLogs(40)}` : ''}`);
  });
}

/** A new instance of `name` on a port of its own, accepting devices, pinned to the servers' core. */
async function startServer(name: SystemName): Promise<Server> {
  let s: Server;
  if (name === 'twoway') s = await freshTwoway();
  else {
    const port = await freePort();
    s = name === 'Mosquitto'
      ? new OwnServer(name, port, ['mosquitto', '-c', await file(`mosquitto-${port}.conf`, mosquittoConf({ port, cafile: fleetCa, certfile: serverCert, keyfile: serverKey, passwordFile: pwFile }))])
      : new OwnServer(name, port, [process.execPath, ...(ENTRY === 'dist' ? [] : ['--import', 'tsx']), aedesEntry, String(port), '--tls', aconf], PROFILED === 'bare aedes' ? profileEnv : {});
  }
  try {
    await accepting(s);
    await pin(s.pid, 0);
    return s;
  } catch (e) {
    await s.stop();
    throw e;
  }
}

await using mosq = await startServer('Mosquitto');
await using aedes = await startServer('bare aedes');
await accepting(mainTwoway);
await pin(mainTwoway.pid, 0);
const servers: Server[] = [mosq, aedes, mainTwoway];
await pin(process.pid, 1);

// ---- measures ----
const stats = async (s: Server) => processTreeStats([{ name: s.name, pid: s.pid }]);
const cpuOf = async (s: Server) => (await stats(s)).cpuMs[s.name]!;
const rssOf = async (s: Server) => (await stats(s)).rssBytes[s.name]!;

let seq = 0;
/** Which part of a system a process is, from its command line (twoway: a service, nats-server, the launcher). */
async function partOf(pid: number): Promise<string> {
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  const joined = argv.join(' ');
  if (/nats-server/.test(argv[0] ?? '')) return 'nats-server';
  const service = joined.match(/services\/([a-z-]+)\//)?.[1];
  if (service) return service;
  if (/services-host|host-main/.test(joined)) return 'services (shared process)';
  if (/apps\/cli\//.test(joined)) return 'launcher';
  return argv[0]?.split('/').pop() || String(pid);
}
/** twoway's connect CPU at c=CONCURRENCY, ms per connect by process, one entry per run. */
const connectParts: Record<string, number>[] = [];

/** `n` connect + CONNACK + DISCONNECT + close, `conc` at once: server CPU per connect, rate, latency. */
async function connects(s: Server, n: number, conc: number, byPart?: Record<string, number>[]): Promise<{ cpuMs: number; perSecond: number; p50: number }> {
  const lat: number[] = [];
  let next = 0;
  const parts0 = byPart ? await treeCpuByPid(s.pid) : undefined;
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
  if (byPart && parts0) {
    const split: Record<string, number> = {};
    for (const [pid, ms] of await treeCpuByPid(s.pid)) {
      const part = await partOf(pid);
      split[part] = (split[part] ?? 0) + (ms - (parts0.get(pid) ?? 0)) / n;
    }
    byPart.push(split);
  }
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

/** Devices for the fleet process: each its own client id (the identities taken in turn), reconnecting to the same port. */
const heldDevices = (s: Server, n: number, prefix: string): HeldDevice[] =>
  Array.from({ length: n }, (_, i) => {
    const { port, ...d } = device(s, i, `${prefix}-${i}`);
    return { ...d, ports: [port], group: s.name };
  });
const countsSince = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)] as const).filter(([, v]) => v > 0));
/** Every 5 s of a long wait: sessions up, and refusals and failures since `since` (the fleet counts from its start). */
const progress = (what: string, since: HeldStatus) => (x: HeldStatus) =>
  note(`  ${what}: ${x.up}/${x.total} up; refused ${JSON.stringify(countsSince(since.refused, x.refused))}; failed ${JSON.stringify(countsSince(since.failed, x.failed))}`);

/**
 * RSS of every process of the system once it stopped moving: three readings a second apart within
 * 0.5% (at least 256 KiB) of each other; after a minute the last reading, said so.
 */
async function stableRss(s: Server, what: string): Promise<number> {
  const readings: number[] = [];
  const until = Date.now() + 60_000;
  for (;;) {
    readings.push(await rssOf(s));
    const last = readings.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) <= Math.max(256 * 1024, 0.005 * last[2]!)) return last[2]!;
    if (Date.now() > until) {
      note(`${s.name}: RSS ${what} still moving after 60 s (${last.map((x) => fmt(x / MiB)).join(', ')} MiB): the last reading is taken`);
      return last.at(-1)!;
    }
    await sleep(1000);
  }
}

/** Until the system spends under 5% of a core (what connects left behind, e.g. twoway's audit, is done). */
async function quiet(s: Server, what: string): Promise<void> {
  const until = Date.now() + 120_000;
  let before = await cpuOf(s);
  for (;;) {
    await sleep(1000);
    const now = await cpuOf(s);
    if (now - before < 50) return;
    if (Date.now() > until) {
      note(`${s.name}: still busy ${what} after 120 s (${now - before} ms of CPU in the last second)`);
      return;
    }
    before = now;
  }
}

/**
 * Memory on a fresh instance: RSS of every process once settled after start; then every device
 * identity connected once and closed (what a server loads or caches once, e.g. twoway's code paths of
 * a connect and its credential cache, is not a session's), RSS settled again; then the growth while
 * holding `HELD` sessions (lean TLS devices in the fleet process), per session.
 */
async function footprint(fleet: HeldFleet, s: Server, run: number): Promise<{ idleMiB: number; kibPerSession: number }> {
  const idle = await stableRss(s, 'after start');
  if (HELD <= 0) return { idleMiB: idle / MiB, kibPerSession: NaN };
  await connects(s, DEVICES, 8);
  const warm = await stableRss(s, 'after every device connected once');
  const since = await fleet.status();
  await fleet.hold(heldDevices(s, HELD, `h${run}`), { concurrency: CONCURRENCY });
  await fleet.until((x) => x.up === HELD, `${HELD} sessions held on ${s.name}`, fleetTimeoutMs(HELD), 100, progress(`${s.name} holding`, since));
  const full = await stableRss(s, `holding ${HELD} sessions`);
  await fleet.end();
  return { idleMiB: idle / MiB, kibPerSession: (full - warm) / 1024 / HELD };
}

/** Wall-clock ms at which `port` takes a TCP connection again (the restarted server listens), tried every 10 ms. */
async function listening(port: number, timeoutMs: number): Promise<number> {
  const end = wallNow() + timeoutMs;
  for (;;) {
    const at = await new Promise<number | undefined>((resolve) => {
      const c = netConnect({ host: '127.0.0.1', port });
      c.once('connect', () => {
        c.destroy();
        resolve(wallNow());
      });
      c.once('error', () => resolve(undefined));
    });
    if (at !== undefined) return at;
    if (wallNow() > end) throw new Error(`nothing listens on ${port} ${timeoutMs} ms after the restart`);
    await sleep(10);
  }
}

/**
 * `STORM` devices connected, the server killed (-9) and restarted on its port, every device reconnecting
 * at once with the same backoff: the time until all are back, and what it cost.
 */
async function storm(fleet: HeldFleet, s: Server, run: number) {
  await fleet.hold(heldDevices(s, STORM, `s${run}`), { concurrency: STORM_CONCURRENCY, ...STORM_BACKOFF });
  const since = await fleet.status();
  await fleet.until((x) => x.up === STORM, `${STORM} storm devices on ${s.name}`, fleetTimeoutMs(STORM), 100, progress(`${s.name} storm devices connecting`, since));
  await quiet(s, `after ${STORM} connects`);
  const s0 = await fleet.status();
  const cpu0 = await treeCpuByPid(s.pid);
  const gen0 = await treeCpuByPid(fleet.pid);
  const t0 = wallNow();
  await s.crash();
  const listensAt = await listening(s.port, 120_000);
  // Every device must have been accepted again since the kill (`up` alone may not have seen the drop yet).
  const back = await fleet.until((x) => {
    s.check();
    return x.up === STORM && x.accepted - s0.accepted >= STORM;
  }, `${STORM} devices back on ${s.name} after its restart`, fleetTimeoutMs(STORM), 50, progress(`${s.name} storm`, s0));
  const cpuMs = cpuSince(cpu0, await treeCpuByPid(s.pid));
  const generatorMs = cpuSince(gen0, await treeCpuByPid(fleet.pid));
  const wallMs = wallNow() - t0;
  await fleet.end();
  return {
    // From the kill until the last device is back, and until the restarted server listens.
    allBackS: (back.lastChangeMs - t0) / 1000,
    listensS: (listensAt - t0) / 1000,
    // Every process of the system, and the load generator (the fleet process) in % of one core.
    cpuS: cpuMs / 1000,
    generatorPct: (generatorMs / wallMs) * 100,
    refused: countsSince(s0.refused, back.refused),
    failed: countsSince(s0.failed, back.failed),
  };
}

interface Measure {
  key: string;
  label: string;
  unit: string;
  higherIsBetter?: boolean;
  /** A figure of the bench rather than of the systems: no ratios, no plot. */
  own?: boolean;
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
  { key: 'held', label: `RSS per held session, ${HELD} held on a fresh server`, unit: 'KiB', values: new Map() },
  { key: 'idle', label: 'RSS idle after start on a fresh server, every process', unit: 'MiB', values: new Map() },
  { key: 'storm', label: `reconnect storm of ${STORM} devices: from kill -9 of the server until all are back`, unit: 's', values: new Map() },
  { key: 'stormUp', label: 'reconnect storm: from the kill until the restarted server listens', unit: 's', values: new Map() },
  { key: 'stormCpu', label: 'reconnect storm: CPU of every process of the system, kill until all back', unit: 's', values: new Map() },
  { key: 'stormGen', label: 'reconnect storm: load generator CPU (its one fleet process)', unit: '% of a core', own: true, values: new Map() },
];
const record = (key: string, s: Server, v: number) => {
  const m = measures.find((x) => x.key === key)!;
  (m.values.get(s.name) ?? m.values.set(s.name, []).get(s.name)!).push(v);
};
/** Above this the generator, not the server, may be what the storm measures. */
const GENERATOR_SATURATED_PCT = 90;

const started = Date.now();
for (const s of servers) await connects(s, 50, 8); // warm-up: twoway's caches, every server's code paths

if (PROFILE_DIR) {
  // Each Node process of twoway writes the profile since the previous mark on SIGUSR2 (cpu-profile.mjs).
  const tw = servers.find((s) => s.name === PROFILED)!;
  const comm = (p: number) => readFile(`/proc/${p}/comm`, 'utf8').then((c) => c.trim(), () => '');
  const nodes: number[] = [];
  for (const p of await treePids(tw.pid)) if ((await comm(p)) === 'node') nodes.push(p);
  const written = (p: number) => stat(join(PROFILE_DIR, `${p}.cpuprofile`)).then((x) => x.mtimeMs, () => 0);
  const mark = async () => {
    const before = await Promise.all(nodes.map(written));
    nodes.forEach((p) => process.kill(p, 'SIGUSR2'));
    await waitFor(async () => (await Promise.all(nodes.map(written))).every((t, i) => t > before[i]!), { what: 'the profiles written', timeoutMs: 30_000 });
  };
  const phase = values['profile-phase'];
  if (phase !== 'connect' && phase !== 'qos0' && phase !== 'qos1') throw new Error(`--profile-phase: connect, qos0 or qos1, not ${phase}`);
  await mark();
  let what: string;
  if (phase === 'connect') {
    const c = await connects(tw, CONNECTS, CONCURRENCY);
    what = `${CONNECTS} connects at c=${CONCURRENCY} (${fmt(c.cpuMs)} ms of system CPU each)`;
  } else {
    const m = await messages(tw, phase === 'qos0' ? 0 : 1);
    what = `the ${phase === 'qos0' ? 'QoS 0' : 'QoS 1'} message load (${fmt(m.rate)} msg/s, ${fmt(m.cpuPerK)} ms of system CPU per 1000)`;
  }
  await mark();
  note(`profiled ${what}: profiles of pids ${nodes.join(', ')} in ${PROFILE_DIR}; summarise with node test/bench/profile-top.mjs ${PROFILE_DIR}/*.cpuprofile`);
} else {
  // The devices of the memory and storm measures live in a process of their own (one, on the
  // generator's core): ten thousand TLS sessions would otherwise share this process's event loop.
  await using fleet = HeldFleet.start();
  await pin(fleet.pid, 1);
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order so that a drift in the machine's load does not favour one system.
    const order = servers.map((_, i) => servers[(i + run) % servers.length]!);
    for (const s of order) {
      const c1 = await connects(s, SEQUENTIAL, 1);
      record('cpu1', s, c1.cpuMs);
      record('lat1', s, c1.p50);
      const c64 = await connects(s, CONNECTS, CONCURRENCY, s.name === 'twoway' ? connectParts : undefined);
      record('cpu64', s, c64.cpuMs);
      record('cps', s, c64.perSecond);
      for (const qos of [0, 1] as const) {
        const m = await messages(s, qos);
        record(`q${qos}`, s, m.rate);
        record(`q${qos}cpu`, s, m.cpuPerK);
      }
      note(`run ${run + 1}/${RUNS} ${s.name}: c=1 ${fmt(c1.cpuMs)} ms, c=${CONCURRENCY} ${fmt(c64.cpuMs)} ms ${fmt(c64.perSecond)}/s (load ${loadavg()[0]!.toFixed(1)}); a fresh ${s.name} for memory${STORM > 0 ? ' and the storm' : ''}`);

      await using fresh = await startServer(s.name);
      const f = await footprint(fleet, fresh, run);
      record('idle', fresh, f.idleMiB);
      if (HELD > 0) record('held', fresh, f.kibPerSession);
      let line = `run ${run + 1}/${RUNS} fresh ${s.name}: idle ${fmt(f.idleMiB)} MiB, ${fmt(f.kibPerSession)} KiB per held session`;
      if (STORM > 0) {
        const st = await storm(fleet, fresh, run);
        record('storm', fresh, st.allBackS);
        record('stormUp', fresh, st.listensS);
        record('stormCpu', fresh, st.cpuS);
        record('stormGen', fresh, st.generatorPct);
        line += `; storm: all ${STORM} back ${fmt(st.allBackS)} s after the kill (listening after ${fmt(st.listensS)} s), system CPU ${fmt(st.cpuS)} s, generator ${fmt(st.generatorPct)}% of a core${st.generatorPct > GENERATOR_SATURATED_PCT ? ' (SATURATED)' : ''}, refused ${JSON.stringify(st.refused)}, failed ${JSON.stringify(st.failed)}`;
      }
      note(`${line} (load ${loadavg()[0]!.toFixed(1)})`);
    }
  }

  // ---- report ----
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const cell = (xs: number[] | undefined) => (xs?.length ? `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '-');
  const ratio = (m: Measure, a: string, b: string) => {
    if (m.own) return '-';
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
  // Rows of what was measured (--held 0 and --storm 0 leave theirs out).
  const measured = measures.filter((m) => m.values.size > 0);
  const generator = measures.find((m) => m.key === 'stormGen')!.values;
  const generatorMax = Math.max(...[...generator.values()].flat());
  const lines = [
    `command: ${command}`,
    `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}, Mosquitto ${mosquittoVersion}, aedes ${aedesVersion}; servers ${PIN ? 'pinned to core 0, load generator to core 1' : 'not pinned (no taskset or one core)'}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${Math.round((Date.now() - started) / 1000)} s`,
    `ECDSA P-256 device certificates (${DEVICES}, one per device, each with its own username and password), TLS 1.2+, mutual TLS + password; medians of ${RUNS} runs (min–max); CPU and RSS summed over every process of each system`,
    STORM > 0
      ? `storm: ${STORM} devices (at most ${STORM_CONCURRENCY} connects in flight), back within 0–${STORM_BACKOFF.minMs} ms of losing their session, then exponential backoff with jitter from ${STORM_BACKOFF.minMs * 2} ms capped at ${STORM_BACKOFF.maxMs / 1000} s; load generator at most ${fmt(generatorMax)}% of a core during a storm: ${generatorMax > GENERATOR_SATURATED_PCT ? 'SATURATED, the storm figures may be the generator\'s' : 'not saturated'}`
      : 'no reconnect storm (--storm 0)',
    '',
    '| measure | Mosquitto | bare aedes | twoway | twoway / Mosquitto | twoway / bare aedes |',
    '| --- | --- | --- | --- | --- | --- |',
    ...measured.map((m) => `| ${m.label} (${m.unit}) | ${cell(m.values.get('Mosquitto'))} | ${cell(m.values.get('bare aedes'))} | ${cell(m.values.get('twoway'))} | ${ratio(m, 'twoway', 'Mosquitto')} | ${ratio(m, 'twoway', 'bare aedes')} |`),
    '',
    `twoway's CPU per connect at c=${CONCURRENCY} by process (ms, median of the runs): ${[...new Set(connectParts.flatMap((p) => Object.keys(p)))]
      .map((k) => [k, median(connectParts.map((p) => p[k] ?? 0))] as const)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
  ];
  console.log(lines.join('\n'));

  if (!values['no-docs']) {
    const plotDir = join(repoRoot, 'docs', 'bench');
    await mkdir(plotDir, { recursive: true });
    const images: string[] = [];
    for (const m of measured.filter((x) => !x.own)) {
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
      'the same passwords (with `--entry dist` compiled ahead of time, as twoway is); twoway as `twoway up`',
      'runs it (the embedded nats-server, every service, the launcher), with an account on mutual TLS whose',
      'root and intermediate are registered and every device a credential. Same clients',
      '(`test/bench/raw-mqtt.ts`, `libs/testing` lean MQTT), same certificates. Ratios are of the medians.',
      '',
      'Connects and messages are measured on one instance of each system started at the beginning. Memory',
      'and the storm are measured on a fresh instance of each per run, configured the same way: its RSS once',
      'settled after start (every process); then every device identity connected once and closed (what is',
      'loaded or cached once is not a session\'s), RSS settled again; then the growth while holding the',
      'sessions, once RSS is stable again, per session (on a server that already ran other phases, memory',
      'it freed and reuses would hide the growth).',
      '',
      'The storm: the devices connected, the server process killed (-9) and started again on its port:',
      'Mosquitto and bare aedes at once by the benchmark, twoway\'s broker alone by the `twoway up`',
      'supervisor (after its first-restart delay of 500 ms; nats-server and the services keep running).',
      'Every device reconnects with the same backoff; the time runs from the kill until the last device is',
      'back, and the CPU is that of every process of the system over the same time. The devices live in one',
      'process of their own on the generator\'s core; its CPU during the storm is reported to show it kept up.',
      '',
      '```',
      ...lines.slice(0, 4),
      '```',
      '',
      ...lines.slice(5),
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
