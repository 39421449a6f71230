// Start-up of each service, from spawn to its first 200 on /readyz, and its resident memory once
// started: from source through tsx (warm transpile cache, as on a developer's machine, and cold, as in
// a fresh container whose /tmp is empty) against the production bundles of `npm run build`, as the
// image runs them and with --enable-source-maps.
//
//   npm run build && node --import tsx test/bench/startup.bench.ts [--runs 5] [--postgres] [--modes tsx-cold,tsx,dist,dist-maps]
//
// Each run starts one process on a fresh data directory (so SQLite runs its migrations; with
// --postgres a fresh database) against one nats-server; account-settings, cert-registry and audit keep
// running alongside, so the broker and the gateway find their upstreams. The CPU time the process
// used until it was ready (user + system, /proc/<pid>/stat) moves far less with a neighbour's load
// than the wall time does. RSS is read from /proc/<pid>/status 2 s after readiness. Modes and services are interleaved run by run, so a
// neighbour's load spreads over all of them. Not a test: it prints figures, it gates nothing.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NatsServer, OwnedProcess, Postgres, freePort, makeTestPki, serviceArgs, tempDir, waitFor } from '@twoway/testing';
import { fmt, summary } from './support.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    postgres: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'tsx-cold,tsx,dist,dist-maps' },
  },
});
const RUNS = Number(values.runs);
const ALL_MODES = ['tsx-cold', 'tsx', 'dist', 'dist-maps'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = values.modes.split(',') as Mode[];
for (const m of MODES) if (!ALL_MODES.includes(m)) throw new Error(`unknown mode ${m} (${ALL_MODES.join(', ')})`);
const SERVICES = ['account-settings', 'cert-registry', 'audit', 'broker', 'gateway'] as const;
type Service = (typeof SERVICES)[number];
const OWNERS = ['account-settings', 'cert-registry', 'audit'] as const;

const dir = await tempDir('twoway-bench-startup-');
const nats = await NatsServer.start();
const pg = values.postgres ? await Postgres.start() : undefined;
const running: OwnedProcess[] = [];
const cleanup = async () => {
  await Promise.all(running.map((p) => p.stop()));
  await nats.stop();
  await pg?.stop();
  await dir[Symbol.asyncDispose]();
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

let dbs = 0;
const dbUrl = async (s: Service) => (pg && (OWNERS as readonly string[]).includes(s) ? pg.createDatabase(`${s.replace('-', '_')}_${dbs++}`) : '');

// /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks of 10 ms (USER_HZ on Linux).
const cpuMs = async (pid: number) => {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const rssMiB = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

try {
  const pki = await makeTestPki({ fresh: true });
  const certFile = join(dir.path, 'server.pem');
  const keyFile = join(dir.path, 'server.key');
  await writeFile(certFile, pki.server.chainPem);
  await writeFile(keyFile, pki.server.keyPem, { mode: 0o600 });
  const token = `tw_bootstrap_${'b'.repeat(32)}`;
  const upstream: Partial<Record<Service, string>> = {};

  async function start(service: Service, mode: Mode, run: string): Promise<{ proc: OwnedProcess; readyMs: number; cpuMs: number }> {
    const port = await freePort();
    const dataDir = join(dir.path, run);
    await mkdir(dataDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TWOWAY_NATS_URL: nats.url,
      TWOWAY_DATA_DIR: dataDir,
      TWOWAY_HTTP_PORT: String(port),
      TWOWAY_LOG_LEVEL: 'warn',
      TWOWAY_BOOTSTRAP_TOKEN: token,
      TWOWAY_DB_URL: await dbUrl(service),
    };
    // tsx keeps its transpile cache under the OS temp directory: an empty one is a fresh container.
    if (mode === 'tsx-cold') env.TMPDIR = join(dataDir, 'tmp');
    if (mode === 'tsx-cold') await mkdir(env.TMPDIR!, { recursive: true });
    if (service === 'broker') Object.assign(env, { TWOWAY_MQTT_PORT: String(await freePort()), TWOWAY_TLS_CERT_FILE: certFile, TWOWAY_TLS_KEY_FILE: keyFile, TWOWAY_BROKER_ID: run });
    if (service === 'gateway') {
      Object.assign(env, { TWOWAY_ACCOUNT_SETTINGS_URL: upstream['account-settings'], TWOWAY_CERT_REGISTRY_URL: upstream['cert-registry'], TWOWAY_AUDIT_URL: upstream.audit });
    }
    const t0 = performance.now();
    const args = mode === 'dist-maps' ? ['--enable-source-maps', ...serviceArgs(service, 'dist')] : serviceArgs(service, mode === 'dist' ? 'dist' : 'source');
    const proc = OwnedProcess.spawn(service, process.execPath, args, { env });
    running.push(proc);
    await waitFor(async () => {
      if (!proc.running) throw new Error(`${service} (${mode}) exited ${proc.exitCode}:\n${proc.log}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
    }, { timeoutMs: 60_000, everyMs: 10, what: `${service} (${mode}) ready` });
    const readyMs = performance.now() - t0;
    const cpu = await cpuMs(proc.child.pid!);
    if ((OWNERS as readonly string[]).includes(service) && !upstream[service]) upstream[service] = `http://127.0.0.1:${port}`;
    return { proc, readyMs, cpuMs: cpu };
  }

  async function stop(proc: OwnedProcess) {
    // SIGINT stops at once (SIGTERM would run the broker's drain window first).
    proc.child.kill('SIGINT');
    await proc.waitExit();
    running.splice(running.indexOf(proc), 1);
  }

  // The owners the broker and the gateway depend on, for the whole run; then one warm-up of each
  // service from source, so that mode `tsx` measures a warm transpile cache.
  for (const s of OWNERS) await start(s, 'dist', `upstream-${s}`);
  console.log('warming the tsx cache…');
  for (const s of SERVICES) await stop((await start(s, 'tsx', `warmup-${s}`)).proc);

  const results = new Map<string, { readyMs: number[]; cpuMs: number[]; rss: number[] }>();
  for (let r = 0; r < RUNS; r++) {
    for (const [i, s] of SERVICES.entries()) {
      // Rotate the order of the modes per run and service.
      const modes = MODES.map((_, k) => MODES[(k + r + i) % MODES.length]!);
      for (const mode of modes) {
        const { proc, readyMs, cpuMs: cpu } = await start(s, mode, `${s}-${mode}-${r}`);
        await new Promise((res) => setTimeout(res, 2000));
        const rss = await rssMiB(proc.child.pid!);
        await stop(proc);
        const k = `${s}|${mode}`;
        const e = results.get(k) ?? { readyMs: [], cpuMs: [], rss: [] };
        e.readyMs.push(readyMs);
        e.cpuMs.push(cpu);
        e.rss.push(rss);
        results.set(k, e);
        process.stdout.write('.');
      }
    }
  }
  console.log('\n');
  console.log(`node --import tsx test/bench/startup.bench.ts --runs ${RUNS}${values.postgres ? ' --postgres' : ''} --modes ${MODES.join(',')}`);
  console.log(`database: ${values.postgres ? 'PostgreSQL (a fresh database per run)' : 'SQLite (a fresh file per run)'}; node ${process.version}\n`);
  console.log('| service | mode | ready p50 ms | min | max | CPU to ready p50 ms | RSS p50 MiB |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const s of SERVICES) {
    for (const mode of MODES) {
      const e = results.get(`${s}|${mode}`)!;
      const t = summary(e.readyMs);
      const m = summary(e.rss);
      console.log(`| ${s} | ${mode} | ${t.p50.toFixed(0)} | ${Math.min(...e.readyMs).toFixed(0)} | ${t.max.toFixed(0)} | ${summary(e.cpuMs).p50.toFixed(0)} | ${fmt(m.p50)} |`);
    }
  }
} finally {
  await cleanup();
}
