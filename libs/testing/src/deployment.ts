// The system laid out as a Kubernetes deployment runs it, on one machine: every service its own
// process (as its own pod would be), each on its own PostgreSQL database, N broker replicas, all on a
// NATS the caller owns (a 3-node cluster for the scale run). For the scale run and the cluster tests;
// `System` (system.ts) is the embedded default as a user starts it with `twoway up`.
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OwnedProcess } from './process.js';
import { restCall } from './rest.js';
import { freePort } from './ports.js';
import { entryFromEnv, serviceArgs, type Entry } from './service-entry.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export type ServiceName = 'account-settings' | 'cert-registry' | 'audit' | 'gateway';

export interface DeploymentOptions {
  natsUrl: string;
  /** A database URL per service (one PostgreSQL database each, as the production overlay has it). */
  dbUrl(service: Exclude<ServiceName, 'gateway'>): Promise<string>;
  brokers: number;
  /** The broker's server certificate and key (PEM). */
  tls: { certPem: string; keyPem: string };
  /** A working directory the deployment owns (data dirs, key files); removed by the caller. */
  dir: string;
  /** Environment for every process (e.g. TWOWAY_NATS_REPLICAS=3). */
  env?: Record<string, string>;
  /** Environment for the broker replicas only. */
  brokerEnv?: Record<string, string>;
  /** Extra node flags per process name (e.g. `{ 'cert-registry': ['--cpu-prof'] }` to profile one). */
  nodeArgs?: Record<string, string[]>;
  /** Also append every process's output to `<logDir>/<name>.log` (kept after the run). */
  logDir?: string;
  /** Run the services from source (tsx) or from their bundles (default: TWOWAY_TEST_ENTRY, else source). */
  entry?: Entry;
}

export interface BrokerReplica {
  id: string;
  mqttPort: number;
  httpPort: number;
  httpUrl: string;
  proc: OwnedProcess;
}

async function ready(url: string, proc: OwnedProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) {
      // A process that exited is not waited for; its last output (read to the end) says why.
      await new Promise((r) => setTimeout(r, 100));
      throw new Error(`${what} exited (${proc.exitCode}):\n${proc.log.slice(-4000)}`);
    }
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) return;
    if (Date.now() > until) throw new Error(`${what} not ready after ${timeoutMs} ms:\n${proc.log.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class Deployment {
  readonly services = new Map<ServiceName, { proc: OwnedProcess; httpUrl: string }>();
  readonly brokers: BrokerReplica[] = [];
  readonly token = `tw_bootstrap_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  private certFile = '';
  private keyFile = '';

  private readonly entry: Entry;

  private constructor(private readonly o: DeploymentOptions) {
    this.entry = o.entry ?? entryFromEnv();
  }

  static async start(o: DeploymentOptions): Promise<Deployment> {
    const d = new Deployment(o);
    try {
      await d.boot();
    } catch (e) {
      await d.stop();
      throw e;
    }
    return d;
  }

  get apiUrl(): string {
    return this.services.get('gateway')!.httpUrl;
  }

  private spawn(name: string, env: NodeJS.ProcessEnv): OwnedProcess {
    const args = [...(this.o.nodeArgs?.[name] ?? []), ...serviceArgs(name.startsWith('broker') ? 'broker' : name, this.entry)];
    const proc = OwnedProcess.spawn(name, process.execPath, args, { cwd: repoRoot, env });
    if (this.o.logDir) {
      const out = createWriteStream(join(this.o.logDir, `${name}.log`), { flags: 'a' });
      proc.child.stdout?.pipe(out);
      proc.child.stderr?.pipe(out);
    }
    return proc;
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TWOWAY_NATS_URL: this.o.natsUrl,
      TWOWAY_BOOTSTRAP_TOKEN: this.token,
      TWOWAY_LOG_LEVEL: process.env.TWOWAY_LOG_LEVEL ?? 'warn',
      ...this.o.env,
      ...extra,
    };
    delete env.NODE_TEST_CONTEXT; // children are not tests
    return env;
  }

  private async boot(): Promise<void> {
    this.certFile = join(this.o.dir, 'server.pem');
    this.keyFile = join(this.o.dir, 'server.key');
    await writeFile(this.certFile, this.o.tls.certPem);
    await writeFile(this.keyFile, this.o.tls.keyPem, { mode: 0o600 });
    if (this.o.logDir) await mkdir(this.o.logDir, { recursive: true });
    // The owners first (they create the streams), then the gateway in front of them.
    await Promise.all((['account-settings', 'cert-registry', 'audit'] as const).map(async (name) => {
      const db = await this.o.dbUrl(name);
      await this.withFreePort(name, async (port) => {
        const proc = this.spawn(name, this.env({ TWOWAY_HTTP_PORT: String(port), TWOWAY_DB_URL: db, TWOWAY_DATA_DIR: join(this.o.dir, name) }));
        this.services.set(name, { proc, httpUrl: `http://127.0.0.1:${port}` });
        await ready(`http://127.0.0.1:${port}`, proc, name);
      });
    }));
    const url = (s: ServiceName) => this.services.get(s)!.httpUrl;
    await this.withFreePort('gateway', async (port) => {
      const gw = this.spawn('gateway', this.env({
        TWOWAY_HTTP_PORT: String(port), TWOWAY_DATA_DIR: join(this.o.dir, 'gateway'),
        TWOWAY_ACCOUNT_SETTINGS_URL: url('account-settings'), TWOWAY_CERT_REGISTRY_URL: url('cert-registry'), TWOWAY_AUDIT_URL: url('audit'),
      }));
      this.services.set('gateway', { proc: gw, httpUrl: `http://127.0.0.1:${port}` });
      await ready(`http://127.0.0.1:${port}`, gw, 'gateway');
    });
    for (let i = 0; i < this.o.brokers; i++) this.brokers.push(await this.startBroker(`broker-${i}`));
  }

  /**
   * A free port can be taken by another process between the probe and the service's listen (many
   * tests pick ports on a shared machine): a service that exits with EADDRINUSE is started again on
   * another port, a few times.
   */
  private async withFreePort(name: string, start: (port: number) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start(await freePort());
      } catch (e) {
        if (attempt >= 3 || !/EADDRINUSE/.test((e as Error).message)) throw e;
        await this.services.get(name as ServiceName)?.proc.stop();
      }
    }
  }

  /** Start (or start again, on the same ports) one broker replica and wait until it is ready. */
  async startBroker(id: string, at?: { mqttPort: number; httpPort: number }): Promise<BrokerReplica> {
    const mqttPort = at?.mqttPort ?? (await freePort());
    const httpPort = at?.httpPort ?? (await freePort());
    const proc = this.spawn(id, this.env({
      TWOWAY_BROKER_ID: id, TWOWAY_MQTT_PORT: String(mqttPort), TWOWAY_HTTP_PORT: String(httpPort), TWOWAY_DATA_DIR: join(this.o.dir, id),
      TWOWAY_TLS_CERT_FILE: this.certFile, TWOWAY_TLS_KEY_FILE: this.keyFile, ...this.o.brokerEnv,
    }));
    const b = { id, mqttPort, httpPort, httpUrl: `http://127.0.0.1:${httpPort}`, proc };
    await ready(b.httpUrl, proc, id);
    return b;
  }

  /**
   * Restart replica `i` as Kubernetes does in a rolling update: SIGTERM (it drains), wait for the exit
   * (at most `graceMs`, then SIGKILL), start it again on the same ports, wait until it is ready.
   */
  async restartBroker(i: number, graceMs = 45_000): Promise<{ stoppedMs: number; readyMs: number }> {
    const b = this.brokers[i]!;
    const t0 = Date.now();
    await b.proc.stop(graceMs);
    const stoppedMs = Date.now() - t0;
    this.brokers[i] = await this.startBroker(b.id, { mqttPort: b.mqttPort, httpPort: b.httpPort });
    return { stoppedMs, readyMs: Date.now() - t0 };
  }

  /** Every process of the deployment (services and brokers), for CPU and memory accounting. */
  get pids(): { name: string; pid: number }[] {
    return [...[...this.services].map(([name, s]) => ({ name, pid: s.proc.child.pid! })), ...this.brokers.map((b) => ({ name: b.id, pid: b.proc.child.pid! }))];
  }

  /** REST call with the provider token. */
  async api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    return restCall<T>(this.apiUrl, this.token, method, path, body);
  }

  /** The last lines of every process's output, for a failing run's message. */
  logs(lines = 20): string {
    const all = [...[...this.services].map(([n, s]) => [n, s.proc] as const), ...this.brokers.map((b) => [b.id, b.proc] as const)];
    return all.map(([n, p]) => `--- ${n} ---\n${p.log.trim().split('\n').slice(-lines).join('\n')}`).join('\n');
  }

  async stop(): Promise<void> {
    // Brokers first (they drain), then the gateway, then the owners.
    await Promise.all(this.brokers.map((b) => b.proc.stop(10_000)));
    await this.services.get('gateway')?.proc.stop();
    await Promise.all([...this.services.values()].map((s) => s.proc.stop()));
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
