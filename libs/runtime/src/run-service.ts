// How every service process lives (STYLE.md "Lifecycle"): settings → logger → telemetry → start;
// SIGINT/SIGTERM (or a fatal error the service reports) stop it in reverse and exit. A bad setting
// lists every problem and exits 1 before anything starts; a failed start logs and exits 1.
import { ConfigError, loadConfig, type ConfigOf, type Schema } from '@twoway/config';
import { createLogger, startTelemetry, type Logger, type Telemetry } from '@twoway/telemetry';

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
  let cfg: ConfigOf<S>;
  try {
    cfg = loadConfig(o.schema, o.env ?? process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${o.name}: ${e.message}\n`);
    process.exit(1);
  }
  const c = cfg as ConfigOf<S> & { logLevel?: string; otelEnabled?: boolean };
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
      stop(1);
    },
  };
  try {
    service = await o.start(cfg, deps);
  } catch (err) {
    log.fatal({ err: safeError(err) }, `${o.name} failed to start`);
    await telemetry.stop();
    process.exit(1);
  }
  log.info({ ...(o.describe?.(service) ?? {}) }, `${o.name} started`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'stopping');
      stop(0, signal === 'SIGTERM');
    });
  }
}
