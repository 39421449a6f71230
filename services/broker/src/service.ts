// The broker as an object: `await Broker.start(cfg, { log, mq? })` wires NATS, the warm caches, the
// change feed, aedes and the listeners; `stop()` unwinds them in reverse.
import { Aedes, type Client } from 'aedes';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import type { MsgHdrs, NatsConnection } from 'nats';
import { ConnectReasons, LiveChangeSubjectPrefix, changeSubjectOfLive } from '@twoway/contracts';
import { Bus, busMetrics, whileJetStreamForms } from '@twoway/nats';
import { ServiceMetrics, type Logger, type Telemetry } from '@twoway/telemetry';
import { AuditQueue } from './audit/audit-queue.js';
import { AuditSpill } from './audit/audit-spill.js';
import { AEDES_HEARTBEAT_INTERVAL_MS, createNatsMqEmitter, createNatsPersistence } from './cluster/index.js';
import { cacheMetrics, createCaches, sweepExpired } from './cache/caches.js';
import { defaultBrokerId, type BrokerConfig } from './config.js';
import { connectEvent } from './connect/audit.js';
import type { Validate } from './connect/evaluate-chain.js';
import { createAuthenticate } from './connect/index.js';
import { ExpiryAuditLimiter } from './connect/expiry.js';
import { createPreConnect } from './connect/pre-connect.js';
import { BrokerMetrics } from './http/metrics.js';
import { startHttp } from './http/server.js';
import { ChangeLane, type ChangePath } from './nats/change-lane.js';
import { ChangesFeed } from './nats/changes-feed.js';
import { Owners, type Caches } from './nats/owners.js';
import { serveSessionsCount } from './nats/sessions-count.js';
import { serveDryRun } from './nats/dry-run.js';
import { applyChange, resync, type RevocationDeps } from './revocation/index.js';
import { drainSessions } from './sessions/drain.js';
import { QueueDropReporter, type DroppedReport } from './sessions/queue-drops.js';
import { onByteLimitExceeded } from './sessions/byte-limit-exceeded.js';
import { SessionRegistry } from './sessions/session-registry.js';
import { mountInbound, topicAuthorizers } from './topics.js';
import { topicDenials } from './topic-rules/denials.js';
import type { ConnState } from './tls/conn-state.js';
import { devServerCertificate } from './tls/dev-certificate.js';
import { MqttListeners, type TlsMaterial } from './tls/listener.js';
import { ChangeFeedEndedError } from './errors.js';

/** Cross-replica plumbing built on the broker's own NATS connection (see src/cluster). */
export type ClusterFactory = (ctx: {
  nc: NatsConnection;
  replicaId: string;
  log: Logger;
  cfg: BrokerConfig;
  /** Messages the session store dropped for a persistent session (bound or expiry). */
  onDropped(r: DroppedReport): void;
  /** Shared session state is no longer followed: readiness false, the process should restart. */
  onFailed(what: string, err?: unknown): void;
}) => Promise<{
  /** aedes `mq`: live PUBLISHes reach every replica. */
  mq?: unknown;
  /** aedes `persistence`: session state shared by the replicas. */
  persistence?: unknown;
  /** aedes options the persistence needs (its heartbeat period drives the will bound). */
  aedesOptions?: Record<string, unknown>;
  /** Called after aedes closed, before NATS drains. */
  stop?(): Promise<void>;
}>;

/**
 * Replicas share live PUBLISHes (core NATS) and every piece of MQTT session state in JetStream:
 * retained messages, persistent sessions' subscriptions and queues, QoS 2 state and wills.
 */
export const natsCluster: ClusterFactory = async ({ nc, replicaId, log, cfg, onDropped, onFailed }) => {
  // A failed open closes what it opened, so trying again while JetStream forms starts from nothing.
  const store = await whileJetStreamForms(() => createNatsPersistence({
    nc,
    replicaId,
    log,
    replicas: cfg.natsReplicas,
    limits: { queueMaxMessages: cfg.mqttQueueMaxMessages, queueMaxBytes: cfg.mqttQueueMaxBytes, queueExpiryMs: cfg.mqttQueueExpiryMs },
    onDropped,
    onWatchEnded: (what, err) => onFailed(`session store: ${what}`, err),
  }), { timeoutMs: cfg.natsStartTimeoutMs, what: 'session store', log });
  await store.sync();
  const mq = createNatsMqEmitter({ nc, replicaId, log, onSubscriptionClosed: (err) => onFailed('MQTT forward subscription', err) });
  await mq.ready();
  return { mq, persistence: store.persistence, aedesOptions: { heartbeatInterval: AEDES_HEARTBEAT_INTERVAL_MS }, stop: () => store.stop() };
};

export interface BrokerDeps {
  log: Logger;
  /** The process's telemetry (main.ts): with TWOWAY_OTEL_ENABLED the metrics are pushed over OTLP too. */
  telemetry?: Telemetry;
  /** An aedes `mq` emitter so messages cross replicas; in-process by default. */
  mq?: unknown;
  /** Builds `mq`/`persistence` on the broker's NATS connection (main.ts wires src/cluster here). */
  cluster?: ClusterFactory;
  /** The chain validator (libs/pki `validateChain` unless a test substitutes it). */
  validate?: Validate;
  /** Server TLS material given directly (tests); otherwise the files of the config. */
  tls?: TlsMaterial;
  /** The broker can no longer do its job (the change feed ended): main.ts stops and exits non-zero. */
  onFatal?: (err: unknown) => void;
}

export interface RunningBroker {
  mqttPort: number;
  plainPort: number | undefined;
  /** MQTT over secure WebSocket (path /mqtt), when TWOWAY_MQTT_WSS_PORT is set. */
  wssPort: number | undefined;
  httpUrl: string;
  metrics: BrokerMetrics;
  sessions: SessionRegistry;
  listeners: MqttListeners;
  ready(): boolean;
  /**
   * Graceful drain (SIGTERM): readiness false, stop accepting, end the live sessions gradually over
   * `TWOWAY_DRAIN_WINDOW_MS`. `stop()` afterwards unwinds the rest; calling `stop()` alone skips the drain.
   */
  drain(): Promise<void>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const RESYNC_RETRY_MS = 1_000;
const CATCH_UP_TIMEOUT_MS = 5_000;
const BUS_DRAIN_GRACE_MS = 2_000;

export class Broker {
  static async start(cfg: BrokerConfig, deps: BrokerDeps): Promise<RunningBroker> {
    const log = deps.log;
    const brokerId = cfg.brokerId ?? defaultBrokerId();
    const metrics = new BrokerMetrics(new ServiceMetrics('broker', { telemetry: deps.telemetry, log }));
    const sessions = new SessionRegistry();
    const caches: Caches = createCaches(cfg, log);
    cacheMetrics(caches, metrics);
    const state = {
      natsConnected: true,
      natsDownSinceMs: undefined as number | undefined,
      resyncing: false,
      feedAlive: false,
      changesBlocked: false,
      stopping: false,
      draining: false,
      sessionStoreOk: true,
    };
    const stale = () => state.natsDownSinceMs !== undefined && Date.now() - state.natsDownSinceMs > cfg.staleAfterMs;

    let onReconnect: () => void = () => undefined;
    const bus = await Bus.connect({
      servers: cfg.natsUrl,
      name: `twoway-broker-${brokerId}`,
      requestTimeoutMs: cfg.natsRequestTimeoutMs,
      streamReplicas: cfg.natsReplicas,
      startTimeoutMs: cfg.natsStartTimeoutMs,
      log,
      onStatus: (s) => {
        if (s === 'disconnected') {
          state.natsConnected = false;
          state.natsDownSinceMs ??= Date.now();
          log.warn({ staleAfterMs: cfg.staleAfterMs }, 'NATS disconnected: deciding from warm caches until the staleness bound');
        } else if (s === 'reconnected') {
          state.natsConnected = true;
          onReconnect();
        }
      },
    }).catch(async (e: unknown) => {
      await metrics.registry.stop();
      throw e;
    });
    busMetrics(metrics.registry, bus);
    const cleanups: (() => Promise<void>)[] = [
      // Last: the final OTLP push counts everything up to the end.
      () => metrics.registry.stop(),
      // Draining needs a server: during an outage, close after a grace period instead of waiting forever.
      async () => {
        let t: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), BUS_DRAIN_GRACE_MS)));
        const r = await Promise.race([bus.stop().then(() => 'drained' as const), grace]);
        clearTimeout(t);
        if (r === 'timeout') {
          log.warn('NATS drain did not finish (server away?): closing the connection');
          await bus.nc.close();
        }
      },
    ];
    const unwind = async () => {
      for (const c of cleanups.reverse()) await c().catch((err) => log.error({ err }, 'stop step failed'));
    };

    try {
      const stopSweep = sweepExpired(caches, cfg.credentialCacheTtlMs);
      cleanups.push(async () => stopSweep());
      await bus.ensureStreams();
      const spill = cfg.auditSpillMaxBytes > 0
        ? await AuditSpill.open({ dir: join(cfg.dataDir, 'audit-spill'), ownerId: brokerId, maxBytes: cfg.auditSpillMaxBytes, log, onDrop: (n) => metrics.auditDropped.inc({}, n) })
        : undefined;
      const audit = new AuditQueue(bus, cfg.auditQueueMax, log, () => metrics.auditDropped.inc(), spill);
      cleanups.push(async () => {
        await audit.flush(1_000);
        await audit.stop();
      });
      const owners = new Owners(bus, caches, metrics);
      serveSessionsCount(bus, sessions, owners, brokerId);
      serveDryRun(bus, { owners, staleAfterMs: cfg.staleAfterMs, replica: brokerId, natsDownSinceMs: () => state.natsDownSinceMs, ...(deps.validate ? { validate: deps.validate } : {}) }, metrics);
      // Ends the re-decision retries of sessions when the broker stops.
      const stopRetries = new AbortController();
      cleanups.push(async () => stopRetries.abort());
      const revocation: RevocationDeps = {
        sessions, owners, caches, audit, metrics, log, source: brokerId, staleAfterMs: cfg.staleAfterMs, signal: stopRetries.signal,
        ...(deps.validate ? { validate: deps.validate } : {}),
      };

      const topicDenied = topicDenials({ audit, metrics, log, source: brokerId });
      const connStates = new WeakMap<Client, ConnState>();
      const clients = new WeakMap<ConnState, Client>();
      const expiryLimiter = new ExpiryAuditLimiter(cfg.expiryAuditedMax, cfg.expiryAuditIntervalMs);
      metrics.view('twoway_broker_expiry_audits_suppressed_total', 'Expiring device certificates seen again within TWOWAY_EXPIRY_AUDIT_INTERVAL_MS, so not audited again', 'counter', () => [{ labels: {}, value: expiryLimiter.suppressed }]);
      metrics.view('twoway_broker_expiry_audited_evictions_total', 'Expiring device certificates forgotten at TWOWAY_EXPIRY_AUDITED_MAX (they may be audited again before their interval)', 'counter', () => [{ labels: {}, value: expiryLimiter.evictions }]);
      metrics.view('twoway_broker_trust_unchecked_answers_total', 'Trust-set lookups answered, after a NATS outage, from a set kept through it before cert-registry confirmed it (within the staleness bound from the outage start)', 'counter', () => [{ labels: {}, value: owners.uncheckedAnswers }]);
      metrics.gauge('twoway_broker_expiry_audited', 'Expiring device certificates whose last audit is remembered', () => expiryLimiter.size);
      const authenticate = createAuthenticate({
        owners, sessions, audit, metrics, log, source: brokerId, staleAfterMs: cfg.staleAfterMs,
        expiry: { windowDays: cfg.expiryWarningDays, limiter: expiryLimiter },
        ...(deps.validate ? { validate: deps.validate } : {}),
        connState: (c) => connStates.get(c),
        natsDownSinceMs: () => state.natsDownSinceMs,
        topicDenialsAuditedPerMinute: cfg.topicDenialsAuditedPerMinute,
        topicDenied,
      });
      const topics = topicAuthorizers(sessions, { denied: topicDenied, withheld: () => metrics.topicDeliveriesWithheld.inc() });
      const drops = new QueueDropReporter({ audit, metrics, log, source: brokerId, ancestryOf: (a) => caches.settings.get(a)?.ancestry });
      cleanups.push(async () => drops.stop());
      const cluster = deps.cluster
        ? await deps.cluster({
            nc: bus.nc, replicaId: brokerId, log, cfg,
            onDropped: (r) => drops.report(r),
            onFailed: (what, err) => {
              state.sessionStoreOk = false;
              log.error({ err, what }, 'shared MQTT session state is no longer followed: readiness false');
              // Without it this replica would deliver from a stale view of sessions: restart it.
              deps.onFatal?.(err ?? new Error(what));
            },
          })
        : {};
      if (cluster.stop) cleanups.push(() => cluster.stop!());
      const mq = cluster.mq ?? deps.mq;
      const aedes = await Aedes.createBroker({
        id: brokerId,
        ...(mq ? { mq } : {}),
        ...(cluster.persistence ? { persistence: cluster.persistence } : {}),
        ...(cluster.aedesOptions ?? {}),
        connectTimeout: cfg.connectDeadlineMs,
        preConnect: createPreConnect({ audit, metrics, log, source: brokerId, connState: (c) => connStates.get(c) }),
        authenticate,
        authorizePublish: topics.authorizePublish,
        authorizeSubscribe: topics.authorizeSubscribe,
        authorizeForward: topics.authorizeForward,
      });
      aedes.on('clientError', (c, err) => log.debug({ clientId: c.id, err: err.message }, 'client error'));
      aedes.on('connectionError', (_c, err) => log.debug({ err: err.message }, 'connection error before CONNECT'));
      cleanups.push(() => new Promise<void>((r) => aedes.close(() => r())));

      // Change feed: the one place status, settings and credential events enter the broker.
      // Each change comes twice, announced on core NATS and stored in the stream; one lane applies it once (nats/change-lane.ts).
      const lane = new ChangeLane({ onLiveDropped: () => metrics.liveChangesDropped.inc() });
      const applyOnce = (path: ChangePath, subject: string, data: Uint8Array, headers: MsgHdrs | undefined) =>
        lane.run(path, async () => {
          const r = await applyChange(subject, data, revocation, headers, { skip: (c) => c.type !== 'ignored' && lane.wasApplied(c.eventId) });
          if (r.change.type === 'ignored') return;
          if (r.skipped) return metrics.changesAlreadyApplied.inc();
          lane.markApplied(r.change.eventId);
          metrics.changesApplied.inc({ type: r.change.type, path });
        });
      // Subscribed before the feed starts: an announcement is never missed between the two.
      const live = bus.nc.subscribe(`${LiveChangeSubjectPrefix}.>`, {
        callback: (err, m) => {
          const subject = err ? undefined : changeSubjectOfLive(m.subject);
          if (!subject) return;
          // On failure the stream's copy is applied, retried until it applies (changes-feed.ts).
          applyOnce('live', subject, m.data, m.headers).catch((e: unknown) => log.debug({ err: e, subject }, 'change announcement not applied; the CHANGES stream will apply it'));
        },
      });
      cleanups.push(async () => live.unsubscribe());
      const feed = await ChangesFeed.start({
        bus,
        log,
        apply: async (subject, data, _seq, headers) => {
          await applyOnce('stream', subject, data, headers);
        },
        onBlocked: (blocked, { seq, subject, err }) => {
          state.changesBlocked = blocked;
          if (blocked) log.error({ err, seq, subject }, 'a change cannot be applied: readiness false until it applies');
        },
        onEnded: (err) => {
          state.feedAlive = false;
          log.error({ err }, 'the CHANGES feed ended: readiness false');
          // Without the feed, suspensions would no longer reach live sessions: let the orchestrator restart us.
          deps.onFatal?.(new ChangeFeedEndedError({ cause: err }));
        },
      });
      state.feedAlive = true;
      cleanups.push(() => feed.stop());

      // Reconnect: flush and re-decide before trusting anything again (docs/design.md §2).
      let resyncTimer: NodeJS.Timeout | undefined;
      cleanups.push(async () => {
        if (resyncTimer) clearTimeout(resyncTimer);
      });
      const runResync = async (): Promise<void> => {
        if (state.stopping || !state.natsConnected) return;
        state.resyncing = true;
        // Stale cache entries go at once; connects from now on ask the owners afresh. Trust sets stay and
        // are checked against cert-registry (nats/owners.ts verifyTrust); until the staleness bound counted
        // from the outage's start they answer meanwhile, as they did while NATS was away, and after it
        // only once checked.
        owners.markTrustUnverified(state.natsDownSinceMs !== undefined ? { answerUntilMs: state.natsDownSinceMs + cfg.staleAfterMs } : {});
        caches.settings.clear();
        caches.credentials.clear();
        state.natsDownSinceMs = undefined;
        try {
          const target = await feed.streamLastSeq();
          const until = Date.now() + CATCH_UP_TIMEOUT_MS;
          while (feed.processedSeq < target && Date.now() < until && !state.stopping) await new Promise((r) => setTimeout(r, 20));
          if (feed.processedSeq < target) log.warn({ processed: feed.processedSeq, target }, 'change feed not caught up after reconnect; re-deciding sessions anyway');
          const r = await resync(revocation);
          log.info(r, 'resynchronised after NATS reconnect');
          state.resyncing = false;
        } catch (err) {
          log.warn({ err }, 'resync after reconnect failed; retrying');
          resyncTimer = setTimeout(() => void runResync(), RESYNC_RETRY_MS);
        }
      };
      onReconnect = () => {
        audit.resume();
        void runResync();
      };

      const material: TlsMaterial = deps.tls ?? (cfg.tlsCertFile && cfg.tlsKeyFile ? { certFile: cfg.tlsCertFile, keyFile: cfg.tlsKeyFile } : await devServerCertificate(cfg.dataDir, log));
      const listeners = await MqttListeners.start({
        host: cfg.mqttHost,
        port: cfg.mqttPort,
        plainPort: cfg.mqttPlainPort,
        wssPort: cfg.mqttWssPort,
        tls: material,
        connectDeadlineMs: cfg.connectDeadlineMs,
        maxPendingPerIp: cfg.maxPendingPerIp,
        maxPending: cfg.maxPending,
        byteLimits: { beforeDecisionBytes: cfg.mqttMaxConnectBytes, maxPacketBytes: cfg.mqttMaxPacketBytes },
        onTooLarge: onByteLimitExceeded({ sessions, audit, metrics, log, source: brokerId, clientOf: (st) => clients.get(st) }),
        log,
        metrics,
        handle: (socket: Duplex, st: ConnState) => {
          const client = aedes.handle(socket) as Client;
          connStates.set(client, st);
          clients.set(st, client);
          mountInbound(client, sessions);
        },
        onDeadline: (st) => {
          // Only a socket that sent a CONNECT is audited: auditing every half-open socket would let a
          // flood of them flood the audit stream too. The others are counted.
          metrics.connectTimeouts.inc({ stage: st.stage });
          if (st.seen) {
            audit.push(
              connectEvent(
                { outcome: 'rejected', type: 'connect.rejected', reason: ConnectReasons.CONNECT_TIMEOUT, returnCode: 5 },
                { clientId: st.seen.clientId, username: st.seen.username, leaf: undefined, sourceAddress: st.sourceAddress, accountId: undefined },
                { kind: 'none' },
                st.transport,
                { source: brokerId, nowMs: Date.now(), traceId: st.seen.traceId },
              ),
            );
            metrics.decisions.inc({ outcome: 'rejected', reason: ConnectReasons.CONNECT_TIMEOUT });
            log.warn({ clientId: st.seen.clientId, reason: ConnectReasons.CONNECT_TIMEOUT, sourceAddress: st.sourceAddress }, 'connect not decided before the deadline');
          }
        },
      });
      // Stop accepting before aedes closes its clients; the rest of the sockets go after.
      cleanups.splice(cleanups.length - 1, 0, () => listeners.stop());

      const readiness = () => {
        const checks = { sessionStore: state.sessionStoreOk, nats: state.natsConnected, fresh: !stale(), listener: listeners.listening, resynced: !state.resyncing, changeFeed: state.feedAlive, changesApplied: !state.changesBlocked };
        return { ready: !state.stopping && !state.draining && Object.values(checks).every(Boolean), checks };
      };
      metrics.gauge('twoway_broker_sessions', 'Live MQTT sessions decided by this broker', () => sessions.size);
      metrics.gauge('twoway_broker_stale', '1 when NATS has been away longer than the staleness bound', () => (stale() ? 1 : 0));
      metrics.gauge('twoway_broker_audit_queue', 'Audit events waiting to be published (in memory and spilled)', () => audit.length);
      metrics.gauge('twoway_broker_audit_spill_bytes', 'Bytes of audit events in the spill file', () => spill?.bytes ?? 0);
      metrics.gauge('twoway_broker_trust_sets_cached', 'Trust sets in the warm cache', () => caches.trust.size);

      const http = await startHttp({ host: cfg.httpHost, port: cfg.httpPort, log, metrics, readiness: () => readiness() });
      cleanups.push(() => http.app.close());

      log.info({ mqttPort: listeners.tlsPort, plainPort: listeners.plainPort, wssPort: listeners.wssPort, httpUrl: http.url, brokerId: brokerId }, 'broker started');
      metrics.gauge('twoway_broker_draining', '1 while this replica drains its sessions before stopping', () => (state.draining ? 1 : 0));
      let draining: Promise<void> | undefined;
      const drain = () =>
        (draining ??= (async () => {
          state.draining = true;
          const started = Date.now();
          const live = sessions.size;
          log.info({ sessions: live, windowMs: cfg.drainWindowMs }, 'draining: accepting stopped, ending sessions gradually');
          listeners.stopAccepting();
          const ended = await drainSessions(revocation, { windowMs: cfg.drainWindowMs });
          await audit.flush(1_000);
          log.info({ ended, ms: Date.now() - started }, 'drained');
        })());
      let stopping: Promise<void> | undefined;
      const stop = () =>
        (stopping ??= (async () => {
          state.stopping = true;
          await unwind();
        })());
      return {
        mqttPort: listeners.tlsPort,
        plainPort: listeners.plainPort,
        wssPort: listeners.wssPort,
        httpUrl: http.url,
        metrics,
        sessions,
        listeners,
        ready: () => readiness().ready,
        drain,
        stop,
        [Symbol.asyncDispose]: stop,
      };
    } catch (e) {
      await unwind();
      throw e;
    }
  }
}
