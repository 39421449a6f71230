// How every service process lives (STYLE.md "Lifecycle"): settings → logger → telemetry → start;
// SIGINT/SIGTERM (or a fatal error the service reports) stop it in reverse and exit. A bad setting
// lists every problem and exits 1 before anything starts; a failed start logs and exits 1.
import { ConfigError, loadConfig, type ConfigOf, type Schema } from '@twoway/config';
import { createLogger, startTelemetry, type Logger, type Telemetry } from '@twoway/telemetry';
import { currentHost } from './host.js';

export interface Stoppable {
  stop(): Promise<void>;
  /** Optional graceful phase run on SIGTERM before `stop()` (e.g. a broker ending its sessions gradually). */
  drain?(): Promise<void>;
}

export interface ServiceDeps {
  log: Logger;
  telemetry: Telemetry;
  /** Call when an invariant broke or a dependency the service cannot live without ended. */
  fatal(err: unknown): void;
}

/** Only the error's name and message: some errors keep inputs (URLs with credentials) as fields. */
const safeError = (e: unknown) => (e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { message: String(e) });

export async function runService<S extends Schema, T extends Stoppable>(o: {
  name: string;
  schema: S;
  start: (cfg: ConfigOf<S>, deps: ServiceDeps) => Promise<T>;
  /** Log fields once started (e.g. the URL it listens on). */
  describe?: (service: T) => Record<string, unknown>;
  env?: Record<string, string | undefined>;
}): Promise<void> {
  // In a process that hosts several services (host.ts) the host owns signals and the exit; a service
  // that cannot start throws to it instead of exiting.
  const host = currentHost();
  const hostEnv = host?.envOf(o.name);
  if (host && !hostEnv && !o.env) throw new Error(`${o.name} is not one of the services this process hosts`);
  let cfg: ConfigOf<S>;
  try {
    cfg = loadConfig(o.schema, o.env ?? hostEnv ?? process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${o.name}: ${e.message}\n`);
    if (host) throw e;
    process.exit(1);
  }
  const c = cfg as ConfigOf<S> & { logLevel?: string; otelEnabled?: boolean };
  // The OpenTelemetry SDK is one per process (global tracer and propagator): a service that traces
  // needs a process of its own.
  if (host && c.otelEnabled) {
    process.stderr.write(`${o.name}: TWOWAY_OTEL_ENABLED needs one process per service (run without --combined)\n`);
    throw new Error('tracing needs one process per service');
  }
  const log = createLogger(o.name, c.logLevel ?? 'info');
  const telemetry = await startTelemetry(o.name, c.otelEnabled ?? false);
  let service: T | undefined;
  let stopping = false;
  const stop = (code: number, drain = false) => {
    if (stopping) return;
    stopping = true;
    // SIGTERM is what an orchestrator sends before it kills: the service's graceful phase runs first.
    // SIGINT (Ctrl-C) and fatal errors stop at once.
    const drained = drain && service?.drain ? service.drain().catch((err: unknown) => log.error({ err: safeError(err) }, 'drain failed')) : Promise.resolve();
    void drained
      .then(() => service?.stop())
      .then(() => telemetry.stop())
      .then(
        () => process.exit(code),
        (err: unknown) => {
          log.error({ err: safeError(err) }, 'stop failed');
          process.exit(1);
        },
      );
  };
  const deps: ServiceDeps = {
    log,
    telemetry,
    fatal: (err) => {
      log.fatal({ err: safeError(err) }, `${o.name} cannot continue; stopping`);
      if (host) host.failed(o.name);
      else stop(1);
    },
  };
  try {
    service = await o.start(cfg, deps);
  } catch (err) {
    log.fatal({ err: safeError(err) }, `${o.name} failed to start`);
    await telemetry.stop();
    if (host) throw err;
    process.exit(1);
  }
  log.info({ ...(o.describe?.(service) ?? {}) }, `${o.name} started`);
  if (host) {
    const s = service;
    host.started(o.name, async (drain) => {
      log.info({}, 'stopping');
      if (drain && s.drain) await s.drain().catch((err: unknown) => log.error({ err: safeError(err) }, 'drain failed'));
      await s.stop();
      await telemetry.stop();
    });
    return;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      stop(0, signal === 'SIGTERM');
    });
  }
}
