// The whole system as a user starts it — `twoway up` as a child process — on free ports and a
// temp data dir, for end-to-end tests, browser tests and benchmarks. Stopped (Ctrl-C equivalent,
// then SIGKILL) by `stop()`, which also removes the data dir it created.
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OwnedProcess } from './process.js';
import { restCall } from './rest.js';
import { freePort, waitFor } from './ports.js';
import { cliArgs, entryFromEnv, serviceArgs, type Entry } from './service-entry.js';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface SystemOptions {
  /** Extra environment for every process (e.g. TWOWAY_STALE_AFTER_MS). */
  env?: Record<string, string>;
  /** Create the demo account (default false: tests set up what they need). */
  demo?: boolean;
  dataDir?: string;
  /** `twoway up` from source (tsx) or from the bundles, which then start the bundled services (default: TWOWAY_TEST_ENTRY, else source). */
  entry?: Entry;
}

export class System {
  private constructor(
    readonly proc: OwnedProcess,
    readonly dataDir: string,
    readonly apiUrl: string,
    readonly mqttPort: number,
    readonly brokerHttpUrl: string,
    readonly token: string,
    private readonly ownsDir: boolean,
    readonly entry: Entry,
  ) {}

  /**
   * A port probed free can be taken by another test's server before `up` binds it (many suites run at
   * once on a shared machine): a start that failed on EADDRINUSE is tried again on other ports, up to
   * three times. Any other failure is reported at once, with every service's log.
   */
  static async start(o: SystemOptions = {}): Promise<System> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await System.startOnce(o);
      } catch (e) {
        if (attempt >= 3 || !/EADDRINUSE/.test((e as Error).message)) throw e;
      }
    }
  }

  private static async startOnce(o: SystemOptions): Promise<System> {
    const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'twoway-e2e-')));
    const ports = {
      TWOWAY_HTTP_PORT: await freePort(),
      TWOWAY_ACCOUNT_SETTINGS_HTTP_PORT: await freePort(),
      TWOWAY_CERT_REGISTRY_HTTP_PORT: await freePort(),
      TWOWAY_AUDIT_HTTP_PORT: await freePort(),
      TWOWAY_BROKER_HTTP_PORT: await freePort(),
      TWOWAY_MQTT_PORT: await freePort(),
      // Each system its own NATS: two systems started at once must never share one.
      TWOWAY_EMBEDDED_NATS_PORT: await freePort(),
    };
    const token = `tw_bootstrap_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      TWOWAY_BOOTSTRAP_TOKEN: token,
      TWOWAY_LOG_LEVEL: process.env.TWOWAY_LOG_LEVEL ?? 'info',
      ...o.env,
    };
    delete env.TWOWAY_NATS_URL;
    delete env.NODE_TEST_CONTEXT; // children are not tests
    const entry = o.entry ?? entryFromEnv();
    const args = [...cliArgs(entry), 'up', '--data-dir', dataDir, ...(o.demo ? [] : ['--no-demo'])];
    // Its own process group, so that stop() can end every service even if `up` itself is killed.
    const proc = OwnedProcess.spawn('twoway up', process.execPath, args, { cwd: repoRoot, env, detached: true });
    const sys = new System(proc, dataDir, `http://127.0.0.1:${ports.TWOWAY_HTTP_PORT}`, ports.TWOWAY_MQTT_PORT, `http://127.0.0.1:${ports.TWOWAY_BROKER_HTTP_PORT}`, token, !o.dataDir, entry);
    try {
      await waitFor(
        () => {
          if (!proc.running) throw new Error(`twoway up exited early:\n${proc.log}`);
          return proc.log.includes('Press Ctrl-C to stop.');
        },
        { timeoutMs: 90_000, everyMs: 100, what: 'twoway up to report ready' },
      );
    } catch (e) {
      // The logs first: stop() removes a data dir this system created.
      const logs = await sys.serviceLogs();
      await sys.stop();
      throw new Error(`${(e as Error).message}\n--- twoway up output ---\n${proc.log}\n${logs}`);
    }
    return sys;
  }

  /** The last lines of every service log, for a failing test's message. */
  async serviceLogs(lines = 30): Promise<string> {
    const out: string[] = [];
    for (const s of ['account-settings', 'cert-registry', 'audit', 'broker', 'gateway', 'services']) {
      try {
        const t = (await readFile(join(this.dataDir, 'logs', `${s}.log`), 'utf8')).trim().split('\n');
        out.push(`--- ${s} ---`, ...t.slice(-lines));
      } catch {
        /* none */
      }
    }
    return out.join('\n');
  }

  /** The NATS URL `up` started (printed on its first lines). */
  get natsUrl(): string {
    const m = /nats-server\s+(nats:\/\/\S+)/.exec(this.proc.log);
    if (!m) throw new Error('twoway up did not print its NATS URL');
    return m[1]!;
  }

  /**
   * Another broker replica as its own process on the same NATS (SREs scale brokers independently).
   * Stopped by the caller (or by `stop()` of this system).
   */
  async startBrokerReplica(env: Record<string, string> = {}, at: { mqttPort?: number; httpPort?: number } = {}): Promise<{ proc: OwnedProcess; mqttPort: number; httpPort: number; httpUrl: string }> {
    // Given ports restart a replica where its devices expect it (benchmarks of rolling restarts).
    const mqttPort = at.mqttPort ?? (await freePort());
    const httpPort = at.httpPort ?? (await freePort());
    const proc = OwnedProcess.spawn('broker replica', process.execPath, serviceArgs('broker', this.entry), {
      cwd: repoRoot,
      env: {
        ...process.env,
        TWOWAY_NATS_URL: this.natsUrl,
        TWOWAY_DATA_DIR: this.dataDir,
        TWOWAY_MQTT_PORT: String(mqttPort),
        TWOWAY_HTTP_PORT: String(httpPort),
        TWOWAY_TLS_CERT_FILE: join(this.dataDir, 'pki', 'server.pem'),
        TWOWAY_TLS_KEY_FILE: join(this.dataDir, 'pki', 'server.key'),
        TWOWAY_LOG_LEVEL: 'warn',
        ...env,
      },
    });
    this.extras.push(proc);
    const httpUrl = `http://127.0.0.1:${httpPort}`;
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`broker replica exited:\n${proc.log}`);
        try {
          return (await fetch(`${httpUrl}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, what: 'broker replica ready' },
    );
    return { proc, mqttPort, httpPort, httpUrl };
  }
  private readonly extras: OwnedProcess[] = [];

  get caFile(): string {
    return join(this.dataDir, 'pki', 'ca.pem');
  }

  /** REST call with the provider token (or another); returns status and parsed body. */
  async api<T = any>(method: string, path: string, body?: unknown, token = this.token): Promise<{ status: number; body: T }> {
    return restCall<T>(this.apiUrl, token, method, path, body);
  }

  async stop(): Promise<void> {
    await Promise.all(this.extras.map((p) => p.stop()));
    // SIGINT is what Ctrl-C sends: `up` stops its children in reverse order.
    if (this.proc.running) this.proc.child.kill('SIGINT');
    await this.proc.stop(20_000);
    // Whatever `up` left behind (it was killed, or a child ignored SIGTERM): end the whole group.
    try {
      process.kill(-this.proc.child.pid!, 'SIGKILL');
    } catch {
      /* the group is already gone */
    }
    if (this.ownsDir) await rm(this.dataDir, { recursive: true, force: true });
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
