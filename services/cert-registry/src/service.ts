// The cert-registry process: its database (migrations at start), NATS (trust-set answers, events via
// the outbox relay) and the REST API. `CertRegistryService.start(cfg)` is the whole wiring; tests
// start it in-process the same way main.ts does.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import type { FastifyInstance } from 'fastify';
import { Bus, busMetrics } from '@twoway/nats';
import { openDatabase, OutboxEntity, OutboxRelay } from '@twoway/persistence';
import { createHttpServer, NatsResolver, type Readiness, type Resolver } from '@twoway/http';
import { ServiceMetrics, type Logger, type Telemetry } from '@twoway/telemetry';
import { DEFAULT_DB_FILE, SERVICE_NAME, type CertRegistryConfig } from './config.js';
import { CertificateEntity, RevocationStateEntity, RevokedSerialEntity, StatusHistoryEntity } from './db/entities.js';
import { migrations } from './db/migrations/index.js';
import { CertificateStore } from './db/certificate-store.js';
import { RevocationStore } from './db/revocation-store.js';
import { serveTrustSet, serveTrustSetDigest } from './nats/trust-set.js';
import { natsLiveSessions } from './nats/live-sessions.js';
import { serveRevokedSerials } from './nats/revoked-serials.js';
import { registerCertificateRoutes } from './http/certificate-routes.js';
import { registerRevocationRoutes } from './http/revocation-routes.js';
import { CrlFetcher } from './fetch/crl-fetcher.js';
import { registerMetrics } from './http/metrics.js';
import { ExpiryScanner } from './expiry-scanner.js';
import { DryRunCounts, natsAskBroker, registerDryRunRoute } from './http/dry-run-route.js';
import { DryRunLimiter } from './domain/dry-run-limiter.js';

export interface CertRegistryDeps {
  log: Logger;
  /** The process's telemetry (main.ts): with TWOWAY_OTEL_ENABLED the metrics are pushed over OTLP too. */
  telemetry?: Telemetry;
  /** Token and ancestry resolution; over NATS (account-settings) unless a test injects one. */
  resolver?: Resolver;
  now?: () => Date;
}

/** How often readiness re-checks the database (readiness itself reads the cached result). */
const DB_PROBE_INTERVAL_MS = 2000;

export class CertRegistryService {
  private stopping?: Promise<void>;
  private dbUp = true;
  private probe?: NodeJS.Timeout;

  private constructor(
    readonly cfg: CertRegistryConfig,
    private readonly log: Logger,
    readonly bus: Bus,
    readonly ds: DataSource,
    readonly relay: OutboxRelay,
    readonly store: CertificateStore,
    readonly revocations: RevocationStore,
    readonly fetcher: CrlFetcher,
    readonly http: FastifyInstance,
    readonly httpUrl: string,
    readonly expiry: ExpiryScanner,
    /** Served at /metrics: NATS requests, REST requests. */
    readonly metrics: ServiceMetrics,
  ) {}

  static async start(cfg: CertRegistryConfig, deps: CertRegistryDeps): Promise<CertRegistryService> {
    const log = deps.log;
    const ds = await openDatabase({
      url: cfg.dbUrl,
      dataDir: cfg.dataDir,
      defaultFile: DEFAULT_DB_FILE,
      entities: [CertificateEntity, StatusHistoryEntity, RevocationStateEntity, RevokedSerialEntity, OutboxEntity],
      migrations,
    });
    const metrics = new ServiceMetrics(SERVICE_NAME, { telemetry: deps.telemetry, log });
    let bus: Bus | undefined;
    let relay: OutboxRelay | undefined;
    let http: FastifyInstance | undefined;
    let fetcher: CrlFetcher | undefined;
    let expiry: ExpiryScanner | undefined;
    try {
      bus = await Bus.connect({
        servers: cfg.natsUrl,
        name: SERVICE_NAME,
        requestTimeoutMs: cfg.natsRequestTimeoutMs,
        serveLimits: { maxConcurrent: cfg.natsMaxConcurrent, maxQueued: cfg.natsMaxQueued },
        streamReplicas: cfg.natsReplicas,
        startTimeoutMs: cfg.natsStartTimeoutMs,
        log,
        onStatus: (s) => log.warn({ nats: s }, `NATS ${s}`),
      });
      busMetrics(metrics, bus);
      await bus.ensureStreams();
      relay = OutboxRelay.start({ ds, publisher: bus, log, retentionMs: cfg.outboxRetentionMs });
      const r = relay;
      const store = new CertificateStore(ds, () => r.settle());
      const revocations = new RevocationStore(ds, () => r.settle(), { revokedSerialsMax: cfg.revokedSerialsMax });
      serveTrustSet(bus, store);
      serveTrustSetDigest(bus, store);
      serveRevokedSerials(bus, revocations);
      fetcher = CrlFetcher.start({ store: revocations, log, intervalMs: cfg.crlFetchIntervalMs, timeoutMs: cfg.crlFetchTimeoutMs, maxBytes: cfg.crlMaxBytes, ...(deps.now ? { now: deps.now } : {}) });
      const b = bus;
      let svc: CertRegistryService | undefined;
      http = await createHttpServer({ logger: log, metrics, readiness: () => svc?.readiness() ?? { ready: false, checks: { starting: true } } });
      const resolver = deps.resolver ?? new NatsResolver(b, { outageGraceMs: cfg.authOutageGraceMs, log });
      const now = deps.now ?? (() => new Date());
      registerCertificateRoutes(http, {
        store,
        resolver,
        liveSessions: natsLiveSessions(b),
        now,
        expiryWarningDays: cfg.expiryWarningDays,
      });
      registerRevocationRoutes(http, { store: revocations, fetcher, resolver, crlMaxBytes: cfg.crlMaxBytes, now: deps.now });
      expiry = ExpiryScanner.start({ store, resolver, windowDays: cfg.expiryWarningDays, intervalMs: cfg.expiryScanIntervalMs, log, now });
      const dryRunCounts = new DryRunCounts();
      registerDryRunRoute(http, { store, resolver, askBroker: natsAskBroker(b), limiter: new DryRunLimiter(cfg.dryRunsPerMinute), counts: dryRunCounts, now: deps.now, newId: randomUUID });
      registerMetrics(metrics, expiry, dryRunCounts);
      await http.listen({ port: cfg.httpPort, host: cfg.httpHost });
      const addr = http.server.address() as AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      svc = new CertRegistryService(cfg, log, bus, ds, relay, store, revocations, fetcher, http, `http://${host}:${addr.port}`, expiry, metrics);
      svc.watchDatabase();
      log.info({ url: svc.httpUrl }, 'cert-registry listening');
      return svc;
    } catch (e) {
      await expiry?.stop().catch(() => undefined);
      await http?.close().catch(() => undefined);
      await fetcher?.stop().catch(() => undefined);
      await relay?.stop().catch(() => undefined);
      await bus?.stop().catch(() => undefined);
      await ds.destroy().catch(() => undefined);
      await metrics.stop();
      throw e;
    }
  }

  private watchDatabase(): void {
    this.probe = setInterval(() => {
      this.store.ping().then(
        () => {
          this.dbUp = true;
        },
        (e: unknown) => {
          if (this.dbUp) this.log.warn({ err: e }, 'database unreachable');
          this.dbUp = false;
        },
      );
    }, DB_PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  /** NATS connected, database reachable, outbox relay publishing. */
  readiness(): Readiness {
    const checks = { nats: this.bus.connected, database: this.dbUp && this.ds.isInitialized, outbox: this.relay.healthy };
    return { ready: Object.values(checks).every(Boolean), checks };
  }

  /** Readiness false → HTTP closed → CRL fetches finished and expiry scan ended → relay stopped → NATS drained → database closed → last metrics push. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.probe) clearInterval(this.probe);
      await this.http.close();
      await this.fetcher.stop();
      await this.expiry.stop();
      await this.relay.stop();
      await this.bus.stop();
      await this.ds.destroy();
      await this.metrics.stop();
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
