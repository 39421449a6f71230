// The audit service: the durable audit-store consumer, the store with its retention, and the query
// API. `AuditService.start(cfg)` wires them; `stop()` unwinds in reverse (readiness false → HTTP closed
// → consumer stopped after its last commit and acks → NATS drained → database closed).
import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import type { FastifyInstance } from 'fastify';
import { MetricNames, ServiceMetrics, createLogger, prometheusName, type Logger, type Telemetry } from '@twoway/telemetry';
import { Bus, busMetrics } from '@twoway/nats';
import { openDatabase } from '@twoway/persistence';
import { createHttpServer, NatsResolver, type Resolver } from '@twoway/http';
import type { AuditConfig } from './config.js';
import { AuditEventEntity, DeadLetterEntity } from './db/audit-event.entity.js';
import { CreateAuditEvents1710000000000 } from './db/migrations/1710000000000-create-audit-events.js';
import { AuditRepository } from './db/audit-repository.js';
import { StoreConsumer } from './nats/store-consumer.js';
import { LiveTail } from './http/live-tail.js';
import { registerAuditRoutes } from './http/routes.js';
import { RETENTION_INTERVAL_MS, retentionCutoff } from './domain/retention.js';

const DB_PROBE_INTERVAL_MS = 5000;

export interface AuditDeps {
  log?: Logger;
  /** The process's telemetry (main.ts): with TWOWAY_OTEL_ENABLED the metrics are pushed over OTLP too. */
  telemetry?: Telemetry;
  now?: () => Date;
  /** Tests may answer token and ancestry lookups themselves; the default asks account-settings over NATS. */
  resolver?: Resolver;
}

export class AuditService {
  private stopping?: Promise<void>;
  private dbReachable = true;
  private ready = false;
  private timers: NodeJS.Timeout[] = [];

  private constructor(
    private readonly cfg: AuditConfig,
    private readonly log: Logger,
    private readonly now: () => Date,
    readonly ds: DataSource,
    readonly bus: Bus,
    readonly repo: AuditRepository,
    readonly tail: LiveTail,
    /** Served at /metrics: events stored, live tails, NATS and REST requests. */
    readonly metrics: ServiceMetrics,
  ) {}

  consumer!: StoreConsumer;
  app!: FastifyInstance;
  httpUrl = '';

  static async start(cfg: AuditConfig, deps: AuditDeps = {}): Promise<AuditService> {
    const log = deps.log ?? createLogger('audit', cfg.logLevel);
    const ds = await openDatabase({
      url: cfg.dbUrl,
      dataDir: cfg.dataDir,
      defaultFile: 'audit.sqlite',
      entities: [AuditEventEntity, DeadLetterEntity],
      migrations: [CreateAuditEvents1710000000000],
    });
    const metrics = new ServiceMetrics('audit', { telemetry: deps.telemetry, log });
    let bus: Bus | undefined;
    try {
      bus = await Bus.connect({
        servers: cfg.natsUrl,
        name: 'twoway-audit',
        requestTimeoutMs: cfg.natsRequestTimeoutMs,
        streamReplicas: cfg.natsReplicas,
        startTimeoutMs: cfg.natsStartTimeoutMs,
        log,
        onStatus: (s) => log.warn({ nats: s }, `NATS ${s}`),
      });
      busMetrics(metrics, bus);
      await bus.ensureStreams();
      const s = new AuditService(cfg, log, deps.now ?? (() => new Date()), ds, bus, new AuditRepository(ds), new LiveTail(), metrics);
      await s.startParts(deps);
      return s;
    } catch (e) {
      await bus?.stop();
      await ds.destroy();
      await metrics.stop();
      throw e;
    }
  }

  private async startParts(deps: AuditDeps): Promise<void> {
    const ingested = this.metrics.counter(`${prometheusName(MetricNames.AuditIngested)}_total`, 'Audit events stored');
    this.metrics.gauge('twoway_audit_live_tails', 'Live tails (the console\'s Server-Sent Events streams) this process feeds', () => this.tail.size);
    this.consumer = StoreConsumer.start({
      bus: this.bus,
      repo: this.repo,
      log: this.log,
      batchSize: this.cfg.batchSize,
      ackWaitMs: this.cfg.ackWaitMs,
      onStored: (events) => {
        ingested.inc({}, events.length);
        this.tail.publish(events);
      },
      onDbState: (up) => {
        this.dbReachable = up;
      },
    });
    this.app = await createHttpServer({ logger: this.log, metrics: this.metrics, readiness: () => this.readiness() });
    registerAuditRoutes(this.app, { repo: this.repo, resolver: deps.resolver ?? new NatsResolver(this.bus, { outageGraceMs: this.cfg.authOutageGraceMs, log: this.log }), tail: this.tail });
    await this.app.listen({ port: this.cfg.httpPort, host: this.cfg.httpHost });
    const addr = this.app.server.address() as AddressInfo;
    this.httpUrl = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    this.timers.push(
      setInterval(() => void this.probeDb(), DB_PROBE_INTERVAL_MS),
      setInterval(() => void this.runRetention().catch((e: unknown) => this.log.error({ err: e }, 'audit retention failed')), RETENTION_INTERVAL_MS),
    );
    this.ready = true;
    void this.runRetention().catch((e: unknown) => this.log.error({ err: e }, 'audit retention failed'));
  }

  private async probeDb(): Promise<void> {
    this.dbReachable = await this.repo.ping();
  }

  readiness(): { ready: boolean; checks: Record<string, boolean> } {
    const checks = { nats: this.bus.connected, consumer: this.consumer.alive, db: this.dbReachable };
    return { ready: this.ready && checks.nats && checks.consumer && checks.db, checks };
  }

  /** Delete events older than TWOWAY_AUDIT_RETENTION_DAYS; runs at start and hourly. */
  async runRetention(): Promise<number> {
    const cutoff = retentionCutoff(this.now(), this.cfg.retentionDays);
    const n = await this.repo.deleteOlderThan(cutoff);
    if (n > 0) this.log.info({ deleted: n, cutoff }, 'audit retention deleted old events');
    return n;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.ready = false;
      for (const t of this.timers) clearInterval(t);
      await this.app?.close();
      await this.consumer?.stop();
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
