// account-settings as an object: database, NATS, outbox relay, bootstrap, request handlers and HTTP.
// `start` wires them in order; `stop` unwinds in reverse (readiness false → HTTP closed → NATS
// drained → relay stopped → database closed) and returns the same promise when called twice.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import { ServiceMetrics, type Logger, type Telemetry } from '@twoway/telemetry';
import { Bus, busMetrics } from '@twoway/nats';
import { createHttpServer } from '@twoway/http';
import { OutboxEntity, OutboxRelay, openDatabase } from '@twoway/persistence';
import type { AccountSettingsConfig } from './config.js';
import { AccountEntity, CredentialEntity, TokenEntity } from './db/entities.js';
import { migrations } from './db/migrations.js';
import { AccountStore } from './db/account-store.js';
import { SYSTEM_ACTOR } from './domain/events.js';
import { LocalResolver } from './principals.js';
import { CredentialChecker } from './credential-check.js';
import { VerifiedPasswords } from './domain/verified-passwords.js';
import { serveRequests } from './nats/handlers.js';
import { registerRoutes } from './http/routes.js';
import { verifiedPasswordMetrics } from './http/metrics.js';

export const SERVICE_NAME = 'account-settings';
export const BOOTSTRAP_TOKEN_FILE = 'bootstrap-token';
/** How often readiness re-checks that the database answers. */
const DB_PING_INTERVAL_MS = 5000;

export interface AccountSettingsDeps {
  log: Logger;
  /** The process's telemetry (main.ts): with TWOWAY_OTEL_ENABLED the metrics are pushed over OTLP too. */
  telemetry?: Telemetry;
}

export class AccountSettingsService {
  private stopping?: Promise<void>;
  private ready = true;
  private dbOk = true;
  private readonly pingTimer: NodeJS.Timeout;

  private constructor(
    readonly app: FastifyInstance,
    readonly httpUrl: string,
    /** Every route registered, so the tenant-isolation matrix can prove it covers each one. */
    readonly routes: readonly { method: string; url: string }[],
    readonly store: AccountStore,
    private readonly bus: Bus,
    private readonly relay: OutboxRelay,
    private readonly ds: DataSource,
    private readonly log: Logger,
    private readonly metrics: ServiceMetrics,
  ) {
    this.pingTimer = setInterval(() => {
      this.ds.query('SELECT 1').then(
        () => (this.dbOk = true),
        (e: unknown) => {
          if (this.dbOk) this.log.warn({ err: e }, 'database ping failed');
          this.dbOk = false;
        },
      );
    }, DB_PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  static async start(cfg: AccountSettingsConfig, deps: AccountSettingsDeps): Promise<AccountSettingsService> {
    const log = deps.log;
    const metrics = new ServiceMetrics(SERVICE_NAME, { telemetry: deps.telemetry, log });
    const undo: (() => Promise<unknown>)[] = [() => metrics.stop()];
    try {
      const ds = await openDatabase({
        url: cfg.dbUrl,
        dataDir: cfg.dataDir,
        defaultFile: `${SERVICE_NAME}.sqlite`,
        entities: [AccountEntity, CredentialEntity, TokenEntity, OutboxEntity],
        migrations,
      });
      undo.push(() => ds.destroy());

      const bus = await Bus.connect({
        servers: cfg.natsUrl,
        name: SERVICE_NAME,
        requestTimeoutMs: cfg.natsRequestTimeoutMs,
        serveLimits: { maxConcurrent: cfg.natsMaxConcurrent, maxQueued: cfg.natsMaxQueued },
        streamReplicas: cfg.natsReplicas,
        startTimeoutMs: cfg.natsStartTimeoutMs,
        log,
        onStatus: (s) => log.warn({ status: s }, 'NATS connection status'),
      });
      undo.push(() => bus.stop());
      busMetrics(metrics, bus);
      await bus.ensureStreams();

      const relay = OutboxRelay.start({ ds, publisher: bus, log, retentionMs: cfg.outboxRetentionMs });
      undo.push(() => relay.stop());
      const store = new AccountStore(ds, relay, { maxRules: cfg.topicRulesMax, maxFilterLength: cfg.topicRuleFilterMaxLength });

      await bootstrap(store, cfg, log);

      const resolver = new LocalResolver(store);
      const verified = new VerifiedPasswords({ maxEntries: cfg.verifiedPasswordCacheMax, ttlMs: cfg.verifiedPasswordCacheTtlMs });
      const credentials = await CredentialChecker.create(store, {
        limits: {
          maxFailures: cfg.credentialMaxFailures,
          windowMs: cfg.credentialFailureWindowMs,
          lockoutMs: cfg.credentialLockoutMs,
          maxFailuresPerUsername: cfg.credentialMaxFailuresPerUsername,
        },
        verified,
      });
      serveRequests(bus, { store, resolver, credentials });

      let svc: AccountSettingsService | undefined;
      const app = await createHttpServer({ logger: log, metrics, readiness: () => svc?.readiness() ?? { ready: false, checks: { starting: true } } });
      undo.push(() => app.close());
      const routes: { method: string; url: string }[] = [];
      app.addHook('onRoute', (r) => {
        for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
      });
      registerRoutes(app, { store, resolver, credentials });
      verifiedPasswordMetrics(metrics, verified);
      const address = await app.listen({ port: cfg.httpPort, host: cfg.httpHost });
      svc = new AccountSettingsService(app, address, routes, store, bus, relay, ds, log, metrics);
      log.info({ httpUrl: address }, 'account-settings started');
      return svc;
    } catch (e) {
      for (const f of undo.reverse()) await f().catch(() => undefined);
      throw e;
    }
  }

  readiness(): { ready: boolean; checks: Record<string, boolean> } {
    const checks = { nats: this.bus.connected, db: this.dbOk && this.ds.isInitialized, outbox: this.relay.healthy };
    return { ready: this.ready && checks.nats && checks.db && checks.outbox, checks };
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ready = false;
      clearInterval(this.pingTimer);
      await this.app.close();
      await this.bus.stop();
      await this.relay.stop();
      await this.ds.destroy();
      await this.metrics.stop();
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * The provider account and its first admin token. A given TWOWAY_BOOTSTRAP_TOKEN is installed as is
 * (only its hash is stored); otherwise a token is generated into $TWOWAY_DATA_DIR/bootstrap-token
 * (mode 0600) and only the file's location is logged. Nothing happens when the provider exists.
 */
async function bootstrap(store: AccountStore, cfg: AccountSettingsConfig, log: Logger): Promise<void> {
  const file = resolve(join(cfg.dataDir, BOOTSTRAP_TOKEN_FILE));
  const r = await store.bootstrap({
    providerName: cfg.providerName,
    ...(cfg.bootstrapToken ? { token: cfg.bootstrapToken } : {}),
    actor: SYSTEM_ACTOR,
    deliver: async (token) => {
      await mkdir(cfg.dataDir, { recursive: true });
      await writeFile(file, `${token}\n`, { mode: 0o600 });
      // writeFile's mode applies only when it creates the file.
      await chmod(file, 0o600);
    },
  });
  if (!r.created) return;
  if (r.generated) log.info({ file }, 'provider account created; its admin API token was written to this file (readable by this user only)');
  else {
    if (cfg.bootstrapToken && cfg.bootstrapToken.length < 20) log.warn('TWOWAY_BOOTSTRAP_TOKEN is shorter than 20 characters; use a long random value outside development');
    log.info('provider account created; TWOWAY_BOOTSTRAP_TOKEN is its admin API token');
  }
}
