// `twoway up`: the whole system on the embedded default — a local nats-server with JetStream, the
// four services and the HTTP front as separate supervised processes, SQLite files and a dev PKI
// under the data dir — then prints how to connect a device and writes the demo device's settings for
// the device examples (pki/device.env). Ctrl-C stops everything.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DefaultPorts } from '@twoway/contracts';
import { Supervisor } from './supervisor.js';
import { chooseLayout, LayoutConflictError, type Layout } from './layout.js';
import { localRequest } from './local-http.js';
import { ensureDevPki } from './dev-pki.js';
import { superviseEmbeddedNats } from './embedded-nats.js';
import { demoConsoleLink, ensureDemo } from './demo.js';
import { connectInstructions, DEMO_TOPIC, writeDeviceEnv, type DemoDevice } from './device-instructions.js';

const HELP = `usage: twoway up [--data-dir DIR] [--no-demo] [--separate | --combined]

Starts nats-server (JetStream), account-settings, cert-registry, audit, broker and the gateway
as supervised processes on the embedded default (SQLite under the data dir, a generated dev PKI).
A process that dies (nats-server included) is restarted with backoff; pids are in DIR/run/.
account-settings, cert-registry, audit and the gateway share one process (services.pid, the whole
system at rest in ~310 MiB instead of ~560; one of them failing restarts all four); the broker and
nats-server have their own.

  --data-dir DIR   data directory (default: $TWOWAY_DATA_DIR or ./data)
  --no-demo        do not create the demo account, credential and anchor on first run
  --separate       one process per service (also TWOWAY_COMBINED=false); chosen by itself when
                   TWOWAY_OTEL_ENABLED is set, the OpenTelemetry SDK being one per process
  --combined       the shared process (the default; also TWOWAY_COMBINED=true); not with tracing
  -h, --help       this help

Environment: every TWOWAY_* setting of the README applies (e.g. TWOWAY_NATS_URL to use an existing
NATS, TWOWAY_TLS_CERT_FILE/TWOWAY_TLS_KEY_FILE for your own server certificate). Launcher-only:
TWOWAY_EMBEDDED_NATS_PORT (default: first free port from 4222), TWOWAY_<SERVICE>_HTTP_PORT and
TWOWAY_<SERVICE>_DB_URL (e.g. TWOWAY_AUDIT_DB_URL=postgres://…) for one service.`;

const here = fileURLToPath(import.meta.url);
// From source this module is apps/cli/src/up/index.ts; bundled (scripts/build.mjs) it is a chunk
// under apps/cli/dist/. Either way the installation root is above apps/cli.
const repoRoot = resolve(here.slice(0, here.lastIndexOf(`${sep}apps${sep}cli${sep}`)));
const SERVICES = ['account-settings', 'cert-registry', 'audit', 'broker', 'gateway'] as const;
/** The services that share one process unless --separate (libs/runtime host.ts); the broker keeps its own. */
const HOSTED: readonly (typeof SERVICES)[number][] = ['account-settings', 'cert-registry', 'audit', 'gateway'];

/**
 * How each service is started: the command run from source starts the sources through tsx (no build
 * step in development); the bundled command starts the bundled services, which `npm run build` made
 * alongside it, with plain node.
 */
function serviceArgs(name: string): string[] {
  if (here.endsWith('.ts')) return ['--import', 'tsx', join(repoRoot, 'services', name, 'src/main.ts')];
  const bundle = join(repoRoot, 'services', name, 'dist/main.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} does not exist: run \`npm run build\` (or run twoway from source)`);
  return [bundle];
}

/** The process that runs the HOSTED services: their sources through tsx, or the bundle that holds all four. */
function hostArgs(): string[] {
  if (here.endsWith('.ts')) return ['--import', 'tsx', join(repoRoot, 'libs/runtime/src/host-main.ts')];
  const bundle = join(repoRoot, 'libs/runtime/dist/services-host.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} does not exist: run \`npm run build\` (or run twoway from source)`);
  return [bundle];
}

async function waitReady(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await localRequest(url, { timeoutMs: 1000 });
      if (r.status >= 200 && r.status < 300) return;
    } catch {
      /* not up yet */
    }
    if (!isAlive()) throw new Error(`stopped while waiting for ${url}`);
    if (Date.now() > until) throw new Error(`${url} not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' }, 'no-demo': { type: 'boolean' }, combined: { type: 'boolean' }, separate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let layout: Layout;
  try {
    layout = chooseLayout(values, process.env);
  } catch (e) {
    if (!(e instanceof LayoutConflictError)) throw e;
    console.error(`twoway up: ${e.message}`);
    return 2;
  }
  const combined = layout.combined;
  const dataDir = resolve(values['data-dir'] ?? process.env.TWOWAY_DATA_DIR ?? './data');
  const logsDir = join(dataDir, 'logs');
  await mkdir(logsDir, { recursive: true });
  const say = (l: string) => console.log(l);
  let stopping = false;
  const cleanups: (() => Promise<void>)[] = [];
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping…');
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    say('stopped.');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    say(`twoway: data in ${dataDir}`);
    const runDir = join(dataDir, 'run');
    await mkdir(runDir, { recursive: true });
    // One supervisor for nats-server and the services: it stops them in reverse, NATS last.
    const sup = new Supervisor(say);
    cleanups.push(() => sup.stop());
    let natsUrl = process.env.TWOWAY_NATS_URL;
    if (!natsUrl) {
      const natsPort = process.env.TWOWAY_EMBEDDED_NATS_PORT ? Number(process.env.TWOWAY_EMBEDDED_NATS_PORT) : undefined;
      const nats = await superviseEmbeddedNats(sup, dataDir, natsPort);
      natsUrl = nats.url;
      say(`  nats-server   ${natsUrl} (JetStream store ${nats.storeDir}; pid in ${join(runDir, 'nats-server.pid')})`);
    }

    const ownTls = !!(process.env.TWOWAY_TLS_CERT_FILE && process.env.TWOWAY_TLS_KEY_FILE);
    const pki = await ensureDevPki(dataDir);
    if (pki.created) say(`  dev PKI       generated in ${pki.dir}`);

    const consoleDist = join(repoRoot, 'apps/console/dist/index.html');
    if (!existsSync(consoleDist) && existsSync(join(repoRoot, 'apps/console/package.json'))) {
      const b = spawnSync('npm', ['run', '--silent', 'build', '-w', '@twoway/console'], { cwd: repoRoot, stdio: 'ignore' });
      if (b.status !== 0) say('  ! the console could not be built; the API works without it');
    }

    const port = (env: string, def: number) => Number(process.env[env] ?? def);
    const gatewayPort = port('TWOWAY_HTTP_PORT', DefaultPorts.gateway);
    const httpPorts: Record<(typeof SERVICES)[number], number> = {
      'account-settings': port('TWOWAY_ACCOUNT_SETTINGS_HTTP_PORT', DefaultPorts['account-settings']),
      'cert-registry': port('TWOWAY_CERT_REGISTRY_HTTP_PORT', DefaultPorts['cert-registry']),
      audit: port('TWOWAY_AUDIT_HTTP_PORT', DefaultPorts.audit),
      broker: port('TWOWAY_BROKER_HTTP_PORT', DefaultPorts.broker),
      gateway: gatewayPort,
    };
    const base: NodeJS.ProcessEnv = { ...process.env, TWOWAY_NATS_URL: natsUrl, TWOWAY_DATA_DIR: dataDir };
    delete base.TWOWAY_DB_URL; // per service only, see below
    const hosted: { name: string; entry: string; env: NodeJS.ProcessEnv }[] = [];
    for (const name of SERVICES) {
      const env: NodeJS.ProcessEnv = { ...base, TWOWAY_HTTP_PORT: String(httpPorts[name]) };
      // TWOWAY_<SERVICE>_DB_URL lets `up` point one service at PostgreSQL.
      const dbUrl = process.env[`TWOWAY_${name.toUpperCase().replace('-', '_')}_DB_URL`];
      if (dbUrl) env.TWOWAY_DB_URL = dbUrl;
      if (name === 'broker' && !ownTls) {
        env.TWOWAY_TLS_CERT_FILE = pki.serverCertFile;
        env.TWOWAY_TLS_KEY_FILE = pki.serverKeyFile;
      }
      if (name === 'gateway') {
        env.TWOWAY_ACCOUNT_SETTINGS_URL = `http://127.0.0.1:${httpPorts['account-settings']}`;
        env.TWOWAY_CERT_REGISTRY_URL = `http://127.0.0.1:${httpPorts['cert-registry']}`;
        env.TWOWAY_AUDIT_URL = `http://127.0.0.1:${httpPorts.audit}`;
        env.TWOWAY_CONSOLE_DIR = join(repoRoot, 'apps/console/dist');
      }
      if (combined && HOSTED.includes(name)) {
        hosted.push({ name, entry: join(repoRoot, 'services', name, 'src/main.ts'), env });
        continue;
      }
      sup.start({
        name,
        command: process.execPath,
        args: serviceArgs(name),
        env,
        cwd: repoRoot,
        logFile: join(logsDir, `${name}.log`),
        pidFile: join(runDir, `${name}.pid`),
      });
    }
    if (hosted.length) {
      // Each hosted service gets only what differs from the process's environment (base).
      const own = (env: NodeJS.ProcessEnv) => Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && base[k] !== v));
      sup.start({
        name: 'services',
        command: process.execPath,
        args: hostArgs(),
        env: { ...base, TWOWAY_HOSTED_SERVICES: JSON.stringify(hosted.map((h) => ({ name: h.name, entry: h.entry, env: own(h.env) }))) },
        cwd: repoRoot,
        logFile: join(logsDir, 'services.log'),
        pidFile: join(runDir, 'services.pid'),
      });
    }
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    await waitReady(`${gatewayUrl}/readyz`, 60_000, () => !stopping);
    await waitReady(`http://127.0.0.1:${httpPorts.broker}/readyz`, 60_000, () => !stopping);
    say(`  services      account-settings, cert-registry, audit, broker, gateway${combined ? ' (all but the broker in one process; --separate for one each)' : ` (one process each${layout.note ? `: ${layout.note}` : ''})`} (logs in ${logsDir})`);

    const tokenFile = join(dataDir, 'bootstrap-token');
    const token = process.env.TWOWAY_BOOTSTRAP_TOKEN || (existsSync(tokenFile) ? (await readFile(tokenFile, 'utf8')).trim() : '');
    const mqttPort = Number(process.env.TWOWAY_MQTT_PORT ?? DefaultPorts.mqtts);
    // The demo account first: the console link below opens it, not the provider's empty home.
    const demo = !values['no-demo'] && token && !ownTls ? await ensureDemo(dataDir, gatewayUrl, token, pki) : null;
    say('');
    say(`twoway is up.`);
    say(`  console              ${demo ? `${demoConsoleLink(gatewayUrl, demo.accountId)}   (the demo account; sign in with the provider API token)` : `${gatewayUrl}/`}`);
    say(`  REST API             ${gatewayUrl}/api/v1   (OpenAPI at /api/v1/openapi.json, reference at /api/v1/docs)`);
    say(`  provider API token   ${process.env.TWOWAY_BOOTSTRAP_TOKEN ? 'the value of TWOWAY_BOOTSTRAP_TOKEN' : tokenFile}`);
    // The CLI looks for $TWOWAY_DATA_DIR/bootstrap-token (./data by default): say how to name this one from anywhere.
    if (!process.env.TWOWAY_BOOTSTRAP_TOKEN) say(`  CLI from elsewhere   export TWOWAY_TOKEN_FILE=${tokenFile}`);
    say(`  MQTT over TLS        mqtts://localhost:${mqttPort}  (client certificate requested)`);
    if (process.env.TWOWAY_MQTT_WSS_PORT) say(`  MQTT over WebSocket  wss://localhost:${process.env.TWOWAY_MQTT_WSS_PORT}/mqtt  (subprotocol mqtt; the same certificates and credentials)`);
    if (demo) {
      const rel = (f: string) => (f.startsWith(process.cwd() + '/') ? f.slice(process.cwd().length + 1) : f);
      const device: DemoDevice = {
        host: 'localhost', // a name in the dev server certificate, so clients can check it
        port: mqttPort,
        caFile: pki.caFile,
        certFile: pki.deviceCertFile,
        keyFile: pki.deviceKeyFile,
        username: demo.username,
        passwordFile: demo.passwordFile,
        clientId: demo.username,
        topic: DEMO_TOPIC,
      };
      const envFile = join(pki.dir, 'device.env');
      await writeDeviceEnv(envFile, device, (await readFile(demo.passwordFile, 'utf8')).trim());
      say('');
      say(`Demo account ${demo.accountId}: mutual TLS on, device credential '${demo.username}', dev root registered.`);
      for (const line of connectInstructions(device, envFile, join(repoRoot, 'examples/devices'), rel)) say(line);
      say('');
      say(`Its audit trail (sign in with the provider token): ${gatewayUrl}/#/audit?account=${encodeURIComponent(demo.accountId)}`);
      say(`Why was a device refused?  npx twoway audit --account ${demo.accountId} --client-id ${demo.username} --explain`);
    }
    say('\nPress Ctrl-C to stop.');
    await new Promise(() => undefined);
    return 0;
  } catch (e) {
    console.error(`twoway up failed: ${(e as Error).message}`);
    await shutdown(1);
    return 1;
  }
}
