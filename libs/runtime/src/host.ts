// Several services in one Node process (`twoway up --combined`, docs/operations.md "One process for the
// small services"). Each service keeps what makes it a service: its own settings (its own environment),
// HTTP port, NATS connection, database and logger; they still reach each other only over NATS. What
// they share is the process: one Node runtime and one copy of every library instead of one each (each
// service process is ~100 MiB at rest, of which ~40 MiB is Node itself and most of the rest the same
// libraries loaded again). The price is a shared fate: a service that fails stops them all, and the
// supervisor restarts the process. Kubernetes runs one service per pod and never uses this.
import { pathToFileURL } from 'node:url';

export interface HostedService {
  name: string;
  /** This service's settings, over the process environment (each service reads only its own). */
  env: Record<string, string>;
  /** Evaluates the service's entry module, whose `runService` call starts it. */
  load: () => Promise<unknown>;
}

/** What `runService` asks of the host it runs in (run-service.ts). */
export interface ServiceHost {
  envOf(name: string): NodeJS.ProcessEnv | undefined;
  /** The service started; `stop` ends it (its graceful phase first when `drain`). */
  started(name: string, stop: (drain: boolean) => Promise<void>): void;
  /** The service cannot go on: every service of the process is stopped, and the process exits 1. */
  failed(name: string): void;
}

const HOST = Symbol.for('twoway.runtime.serviceHost');

/** The host this process runs its services in, if any. */
export function currentHost(): ServiceHost | undefined {
  return (globalThis as { [HOST]?: ServiceHost })[HOST];
}

/** The environment variable that lists the services to host: `[{ name, env, entry? }]` as JSON. */
export const HOSTED_SERVICES_ENV = 'TWOWAY_HOSTED_SERVICES';

/**
 * Start `services` in order (each one started before the next is loaded) and run them until SIGINT or
 * SIGTERM (every service's graceful phase first), or until one fails: then all stop in reverse order.
 */
export async function runHost(services: readonly HostedService[]): Promise<void> {
  const running: { name: string; stop: (drain: boolean) => Promise<void> }[] = [];
  const envs = new Map(services.map((s) => [s.name, { ...process.env, ...s.env }]));
  let stopping = false;
  const stopAll = async (code: number, drain: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const r of [...running].reverse()) {
      await r.stop(drain).catch((e: unknown) => process.stderr.write(`${r.name}: stop failed: ${(e as Error).message}\n`));
    }
    process.exit(code);
  };
  const host: ServiceHost = {
    envOf: (name) => envs.get(name),
    started: (name, stop) => {
      running.push({ name, stop });
    },
    failed: () => void stopAll(1, false),
  };
  (globalThis as { [HOST]?: ServiceHost })[HOST] = host;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAll(0, signal === 'SIGTERM'));
  for (const s of services) {
    try {
      await s.load();
    } catch (e) {
      // runService has logged why (a bad setting, a failed start).
      process.stderr.write(`${s.name} did not start: ${(e as Error).message}\n`);
      await stopAll(1, false);
      return;
    }
    if (stopping) return;
  }
}

/**
 * `runHost` for the services `TWOWAY_HOSTED_SERVICES` lists. A service is loaded by `loaders[name]`
 * when given (a bundle that holds every service's code), else from its `entry` file.
 */
export async function runHostFromEnv(loaders: Record<string, () => Promise<unknown>> = {}): Promise<void> {
  const raw = process.env[HOSTED_SERVICES_ENV];
  if (!raw) throw new Error(`${HOSTED_SERVICES_ENV} is not set: it lists the services to run ([{ "name", "env", "entry" }])`);
  const list = JSON.parse(raw) as { name: string; env?: Record<string, string>; entry?: string }[];
  // Not passed on: a service that starts a process of its own must not host these again.
  delete process.env[HOSTED_SERVICES_ENV];
  await runHost(
    list.map((s) => {
      const load = loaders[s.name] ?? (s.entry ? () => import(pathToFileURL(s.entry!).href) : undefined);
      if (!load) throw new Error(`no entry for hosted service ${s.name}`);
      return { name: s.name, env: s.env ?? {}, load };
    }),
  );
}
