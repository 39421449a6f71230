// One NATS connection per process, with request/reply and JetStream helpers that speak the contracts.
import {
  connect,
  headers as natsHeaders,
  type NatsConnection,
  type JetStreamClient,
  type JetStreamManager,
  type Msg,
  type Subscription,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  RequestStrategy,
} from 'nats';
import type { Static, TSchema } from '@sinclair/typebox';
import { ErrorCodes, Streams, TraceHeader, liveChangeSubject, type ErrorCode } from '@twoway/contracts';
import {
  AttributeNames as A, SpanKind, SpanNames, activeContext, contextOf, extractHeaders, failSpan, injectHeaders, runInSpan, startSpan, traceIdOf, traceparentOf,
  type Span, type TraceContext,
} from '@twoway/telemetry';
import { decode, encode, MessageInvalidError } from './codec.js';
import { RequestLimiter, type RequestLimits } from './request-limiter.js';

/** Per subject served, unless BusOptions or serve() say otherwise (docs/limits.md). */
export const DEFAULT_SERVE_LIMITS: RequestLimits = { maxConcurrent: 32, maxQueued: 256 };
import { whileJetStreamForms, type FormingOptions } from './forming.js';
import { planReplicas, replicasFor, streamInfoOrUndefined, updateKeepingReplicas } from './replicas.js';

/** Span attributes of a NATS operation (OpenTelemetry messaging conventions); set only when recording. */
function natsSpan(span: Span, subject: string, operation: 'send' | 'process'): Span {
  if (span.isRecording()) span.setAttributes({ [A.MessagingSystem]: 'nats', [A.MessagingDestination]: subject, [A.MessagingOperation]: operation });
  return span;
}

const isNoResponders = (e: unknown): boolean => (e as { code?: string })?.code === '503';

export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(readonly subject: string, readonly code: ErrorCode, message: string) {
    super(message);
  }
}
/** The owning service did not answer (no responder, timeout, connection down): callers fail closed. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
  readonly code = 'UNAVAILABLE' as const;
  constructor(readonly subject: string, options?: { cause?: unknown }) {
    super(`no answer on ${subject}`, options);
  }
}
/** A handler throws this (or any error with a contracts `code`) to reply with that code. */
export class CodedError extends Error {
  override name = 'CodedError';
  constructor(readonly code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].message, options);
  }
}

export interface BusOptions {
  servers: string;
  name: string;
  requestTimeoutMs?: number;
  /** Called when the connection status changes, for readiness and resync. */
  onStatus?: (s: 'disconnected' | 'reconnected' | 'closed') => void;
  log?: { info?(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
  /**
   * Bounds of every `serve()`: requests running at once and waiting, per subject; the rest are answered
   * OVERLOADED at once. A queued request is also shed once it waited longer than the request timeout.
   */
  serveLimits?: RequestLimits;
  /** Replicas of the streams `ensureStreams` creates (TWOWAY_NATS_REPLICAS); default 1. */
  streamReplicas?: number;
  /** How long `ensureStreams` waits out a forming JetStream cluster (TWOWAY_NATS_START_TIMEOUT_MS); default 60 s. */
  startTimeoutMs?: number;
}

export interface ServeOptions {
  /** Queue group (any replica may answer); `twoway` by default. `false`: every subscriber answers (scatter-gather, see `gather`). */
  queue?: string | false;
  /** This subject's bounds, instead of the Bus's. */
  limits?: RequestLimits;
}

/** How often at most a shedding subject is logged. */
const SHED_LOG_EVERY_MS = 10_000;

export interface Handler<Q extends TSchema> {
  (req: Static<Q>, ctx: { traceparent?: string; subject: string }): Promise<unknown> | unknown;
}

export class Bus {
  private subs: Subscription[] = [];
  private stopping?: Promise<void>;
  readonly js: JetStreamClient;

  private constructor(readonly nc: NatsConnection, private readonly opts: BusOptions) {
    this.js = nc.jetstream();
    void this.watchStatus();
  }

  static async connect(opts: BusOptions): Promise<Bus> {
    const nc = await connect({
      servers: opts.servers.split(',').map((s) => s.trim()),
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Waiting a little on first connect lets a whole system start in any order.
      waitOnFirstConnect: true,
      timeout: 5000,
      // nats.js otherwise captures two stack traces (new Error) per request and JetStream publish, to
      // decorate a timeout's stack: measurable CPU on the broker's connect path and audit pump (a
      // profile of a revocation storm showed it above the TLS socket teardowns). Our errors carry codes.
      noAsyncTraces: true,
    });
    return new Bus(nc, opts);
  }

  get connected(): boolean {
    return !this.nc.isClosed() && !this.nc.isDraining() && this.nc.info !== undefined && this.statusUp;
  }
  private statusUp = true;

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.statusUp = false;
        this.opts.onStatus?.('disconnected');
      } else if (s.type === 'reconnect') {
        this.statusUp = true;
        this.opts.onStatus?.('reconnected');
      }
    }
  }

  async jsm(): Promise<JetStreamManager> {
    return this.nc.jetstreamManager();
  }

  /**
   * Create or update the two streams. Idempotent; every service calls it at start. Replicas: created
   * with `replicas` (else the bus's `streamReplicas`, else 1), raised when that is higher, never
   * lowered (see replicas.ts); the other limits are re-applied every time. While JetStream is still
   * forming (no meta leader, too few peers) it tries again, up to `startTimeoutMs`.
   */
  async ensureStreams(opts: { auditMaxAgeMs?: number; auditMaxBytes?: number; replicas?: number } = {}): Promise<void> {
    await whileJetStreamForms(() => this.ensureStreamsOnce(opts), this.forming('streams'));
  }

  /** Options of `whileJetStreamForms` for this bus's start (also for the KV buckets a service opens). */
  forming(what: string): FormingOptions {
    return { timeoutMs: this.opts.startTimeoutMs ?? 60_000, what, ...(this.opts.log ? { log: this.opts.log } : {}) };
  }

  private async ensureStreamsOnce(opts: { auditMaxAgeMs?: number; auditMaxBytes?: number; replicas?: number }): Promise<void> {
    const jsm = await this.jsm();
    const ns = 1_000_000;
    const wanted = replicasFor(this.nc, opts.replicas ?? this.opts.streamReplicas ?? 1, this.opts.log);
    const defs = [
      {
        name: Streams.Audit.name,
        subjects: [...Streams.Audit.subjects],
        max_age: (opts.auditMaxAgeMs ?? 30 * 24 * 3600 * 1000) * ns,
        max_bytes: opts.auditMaxBytes ?? 10 * 1024 * 1024 * 1024,
      },
      { name: Streams.Changes.name, subjects: [...Streams.Changes.subjects], max_age: 7 * 24 * 3600 * 1000 * ns, max_bytes: 1024 * 1024 * 1024 },
    ];
    for (const d of defs) {
      const cfg = {
        ...d,
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        duplicate_window: 2 * 60 * 1000 * ns,
      };
      let have = (await streamInfoOrUndefined(jsm, d.name))?.config;
      if (!have) {
        try {
          await jsm.streams.add({ ...cfg, num_replicas: wanted });
          this.opts.log?.info?.({ stream: d.name, replicas: wanted }, 'stream created');
          continue;
        } catch (e) {
          // Another service created it between our info and add: configure the one that exists.
          if (!String((e as Error).message).includes('already in use')) throw e;
          have = (await jsm.streams.info(d.name)).config;
        }
      }
      const plan = planReplicas(have.num_replicas, wanted);
      if (plan.action === 'keep' && plan.replicas > wanted) this.opts.log?.info?.({ stream: d.name, replicas: plan.replicas, setting: wanted }, 'stream has more replicas than the setting; kept');
      await updateKeepingReplicas(jsm, d.name, cfg, plan, have, this.opts.log);
    }
  }

  /**
   * Typed request: validates the reply; an `{ error }` reply becomes a RemoteError. A CLIENT span
   * child of `traceparent` (or of the active span) covers it, and its context rides in the headers;
   * with tracing off the given `traceparent` is sent as is, for the owner's logs.
   */
  async request<R extends TSchema>(subject: string, body: unknown, replySchema: R, opts: { timeoutMs?: number; traceparent?: string } = {}): Promise<Static<R>> {
    const parent = opts.traceparent ? contextOf(opts.traceparent) : activeContext();
    const span = natsSpan(startSpan(SpanNames.NatsRequest, { kind: SpanKind.CLIENT, parent }), subject, 'send');
    const h = natsHeaders();
    if (!injectHeaders(h, span, parent) && opts.traceparent) h.set(TraceHeader, opts.traceparent);
    try {
      let msg: Msg;
      try {
        msg = await this.nc.request(subject, encode(body), { timeout: opts.timeoutMs ?? this.opts.requestTimeoutMs ?? 2000, headers: h });
      } catch (e) {
        throw new UnavailableError(subject, { cause: e });
      }
      const raw = JSON.parse(new TextDecoder().decode(msg.data)) as { error?: { code: ErrorCode; message: string } };
      if (raw && typeof raw === 'object' && raw.error) throw new RemoteError(subject, raw.error.code, raw.error.message);
      return decode(replySchema, msg.data, subject);
    } catch (e) {
      failSpan(span, (e as { code?: string }).code ?? 'INTERNAL');
      throw e;
    } finally {
      span.end();
    }
  }

  /**
   * Scatter-gather: one request answered by every subscriber (served with `queue: false`). Collects
   * replies until none came for `stallMs` after the last one, or `maxWaitMs` in all; replies that do not
   * match the schema, and error replies, are counted in `failed`, not returned. No subscriber: no replies.
   */
  async gather<R extends TSchema>(subject: string, body: unknown, replySchema: R, opts: { maxWaitMs: number; stallMs: number }): Promise<{ replies: Static<R>[]; failed: number }> {
    const replies: Static<R>[] = [];
    let failed = 0;
    const h = natsHeaders();
    const parent = activeContext();
    const span = natsSpan(startSpan(SpanNames.NatsRequest, { kind: SpanKind.CLIENT, parent }), subject, 'send');
    injectHeaders(h, span, parent);
    try {
      const it = await this.nc.requestMany(subject, encode(body), { strategy: RequestStrategy.JitterTimer, maxWait: opts.maxWaitMs, jitter: opts.stallMs, headers: h });
      for await (const m of it) {
        try {
          const raw = JSON.parse(new TextDecoder().decode(m.data)) as { error?: unknown };
          if (raw && typeof raw === 'object' && raw.error) failed += 1;
          else replies.push(decode(replySchema, m.data, subject));
        } catch {
          failed += 1;
        }
      }
    } catch (e) {
      // No responders (nobody subscribed) ends the iteration with an error: that is zero replies.
      if (!isNoResponders(e)) throw new UnavailableError(subject, { cause: e });
    } finally {
      span.end();
    }
    return { replies, failed };
  }

  /** Requests answered OVERLOADED, per subject served (for metrics and tests). */
  readonly shed = new Map<string, number>();
  private readonly serving: { subject: string; served: number; limiter: RequestLimiter<Msg> }[] = [];

  /** Per subject served: requests its handler answered (error replies too), refused OVERLOADED, running and waiting now. */
  serveStats(): { subject: string; served: number; shed: number; inFlight: number; queued: number }[] {
    const out = new Map<string, { subject: string; served: number; shed: number; inFlight: number; queued: number }>();
    for (const s of this.serving) {
      const o = out.get(s.subject) ?? { subject: s.subject, served: 0, shed: 0, inFlight: 0, queued: 0 };
      o.served += s.served;
      o.shed += s.limiter.shed;
      o.inFlight += s.limiter.inFlight;
      o.queued += s.limiter.queued;
      out.set(s.subject, o);
    }
    return [...out.values()];
  }

  /**
   * Answer requests on `subject` (queue group: any replica may answer). Errors become `{ error }` replies.
   * Bounded (`serveLimits`): beyond the requests running and waiting, a request is answered OVERLOADED
   * at once, so the requester fails fast instead of timing out behind work nobody waits for.
   */
  serve<Q extends TSchema>(subject: string, schema: Q, handler: Handler<Q>, opts: ServeOptions | string = {}): void {
    const o: ServeOptions = typeof opts === 'string' ? { queue: opts } : opts;
    const queue = o.queue === false ? undefined : (o.queue ?? 'twoway');
    const sub = this.nc.subscribe(subject, queue ? { queue } : {});
    this.subs.push(sub);
    const limits = o.limits ?? this.opts.serveLimits ?? DEFAULT_SERVE_LIMITS;
    let lastShedLogMs = 0;
    const limiter: RequestLimiter<Msg> = new RequestLimiter<Msg>(
      { maxQueueWaitMs: this.opts.requestTimeoutMs ?? 2000, ...limits },
      (m) =>
        void this.answer(m, schema, handler).finally(() => {
          stats.served += 1;
          limiter.done(Date.now());
        }),
      (m) => {
        this.shed.set(subject, limiter.shed);
        const now = Date.now();
        if (now - lastShedLogMs >= SHED_LOG_EVERY_MS) {
          lastShedLogMs = now;
          this.opts.log?.warn({ subject, shed: limiter.shed, inFlight: limiter.inFlight, queued: limiter.queued }, 'overloaded: requests refused');
        }
        m.respond(encode({ error: { code: 'OVERLOADED', message: ErrorCodes.OVERLOADED.message } }));
      },
    );
    const stats = { subject, served: 0, limiter };
    this.serving.push(stats);
    void (async () => {
      for await (const m of sub) limiter.offer(m, Date.now());
    })();
  }

  /** One request in a SERVER span parented by the message's trace context; the handler runs inside it. */
  private async answer<Q extends TSchema>(m: Msg, schema: Q, handler: Handler<Q>): Promise<void> {
    const parent = extractHeaders(m.headers);
    const span = natsSpan(startSpan(SpanNames.NatsHandle, { kind: SpanKind.SERVER, parent }), m.subject, 'process');
    const traceparent = m.headers?.get(TraceHeader) || undefined;
    try {
      const req = decode(schema, m.data, m.subject);
      const res = await runInSpan(span, parent, () => handler(req, { traceparent, subject: m.subject }));
      m.respond(encode(res));
    } catch (e) {
      const err = e as { code?: string; message?: string };
      const known = err.code && err.code in ErrorCodes;
      const code = (known ? err.code : 'INTERNAL') as ErrorCode;
      if (!known && !(e instanceof MessageInvalidError)) this.opts.log?.error({ err: e, subject: m.subject, traceId: traceIdOf(traceparentOf(span) ?? traceparent) }, 'request handler failed');
      failSpan(span, code);
      m.respond(encode({ error: { code, message: known ? err.message : ErrorCodes.INTERNAL.message } }));
    } finally {
      span.end();
    }
  }

  /**
   * A PRODUCER span for a publish, child of the trace that produced the fact (`traceparent`, e.g. an
   * outbox row's), its context in the headers. Only with an explicit parent: a relay publishing in the
   * background must not attach rows to whatever request happened to wake it.
   */
  private publishHeaders(subject: string, traceparent: string | undefined): { h: ReturnType<typeof natsHeaders>; span?: Span } {
    const h = natsHeaders();
    if (!traceparent) return { h };
    const parent: TraceContext = contextOf(traceparent);
    const span = natsSpan(startSpan(SpanNames.NatsPublish, { kind: SpanKind.PRODUCER, parent }), subject, 'send');
    if (!injectHeaders(h, span, parent)) h.set(TraceHeader, traceparent);
    return { h, span };
  }

  private async traced(span: Span | undefined, publish: () => Promise<unknown>): Promise<void> {
    try {
      await publish();
    } catch (e) {
      if (span) failSpan(span, 'UNAVAILABLE');
      throw e;
    } finally {
      span?.end();
    }
  }

  /** Publish a fact to JetStream; `id` becomes the message id, so a retried publish is stored once. */
  async publishEvent(subject: string, event: { id: string }, traceparent?: string): Promise<void> {
    const { h, span } = this.publishHeaders(subject, traceparent);
    await this.traced(span, () => this.js.publish(subject, encode(event), { msgID: event.id, headers: h }));
  }

  /**
   * Announce an already-encoded change fact on core NATS (`liveChangeSubject`), ahead of its JetStream
   * publish: fire and forget, nothing waits for the stream. Skipped while disconnected, so a long
   * outage does not fill the client's reconnect buffer; the stream's copy arrives after it anyway.
   */
  announceRaw(subject: string, payload: string, traceparent?: string): boolean {
    if (!this.connected) return false;
    const { h, span } = this.publishHeaders(subject, traceparent);
    try {
      this.nc.publish(liveChangeSubject(subject), new TextEncoder().encode(payload), { headers: h });
      return true;
    } finally {
      span?.end();
    }
  }

  /** Publish an already-encoded event (the outbox relay's path, with the row's traceparent). */
  async publishRaw(subject: string, id: string, payload: string, traceparent?: string): Promise<void> {
    const { h, span } = this.publishHeaders(subject, traceparent);
    await this.traced(span, () => this.js.publish(subject, new TextEncoder().encode(payload), { msgID: id, headers: h, timeout: 2000 }));
  }

  /**
   * Drain subscriptions and the connection; the same promise when called twice. A drain needs the
   * server: while disconnected (or when the drain takes longer than `drainTimeoutMs`) the
   * connection is closed instead, so a service always stops even when NATS is gone.
   */
  stop(drainTimeoutMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.nc.isClosed()) return;
      if (this.statusUp && !this.nc.isDraining()) {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), drainTimeoutMs)));
        const r = await Promise.race([this.nc.drain().then(() => 'drained' as const, () => 'failed' as const), timedOut]);
        clearTimeout(timer);
        if (r !== 'drained') await this.nc.close().catch(() => undefined);
      } else {
        await this.nc.close().catch(() => undefined);
      }
      await this.nc.closed();
    })();
    return this.stopping;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
