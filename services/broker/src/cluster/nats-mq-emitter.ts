// An mqemitter for aedes (`new Aedes({ mq })`) that spans every broker replica: subscriptions match
// locally with mqemitter's MQTT wildcard semantics, and a local PUBLISH is sent over core NATS only to
// the replicas that have a matching subscription.
//
// Interest: each replica announces the filters its clients subscribe to (`<base>.interest`: a delta per
// change, a snapshot on request, a heartbeat with its announcement number so a receiver that missed one
// resynchronises). A SUBACK waits until every replica known alive applied the new filter (bounded by
// INTEREST_ACK_TIMEOUT_MS), so a publish made anywhere after the SUBACK reaches the subscriber. A
// forwarded PUBLISH goes to `<base>.to.<replica>`: payload raw as the body, the rest in headers
// (envelope.ts). With no other replica interested, nothing crosses NATS; nothing is sent back to its
// sender. Takeover notices go to every replica (`<base>.takeover`), each with the time its replica
// accepted the session (`tw-since`): of two sessions of one client id accepted within moments of each
// other on two replicas, the later one stays, on both replicas alike, whatever order NATS delivers the
// two notices in. (NATS orders one connection's messages, not two publishers': under load the server
// can deliver a notice published later first. A notice without the time, from an older replica, is
// ordered by its echo as before: the server's order decides.)
//
// Delivery across replicas is at most once (core NATS, no acknowledgement): a QoS 1/2 PUBLISH is
// acknowledged by its replica when local delivery is done, and a NATS outage loses what other replicas
// would have received. Order is kept per publisher: one client is on one replica, which publishes on
// one NATS connection, and NATS keeps the order of one connection's messages to one subscriber.
import { randomUUID } from 'node:crypto';
import mqemitter from 'mqemitter';
import type { NatsConnection, Subscription, Msg, MsgHdrs, NatsError } from 'nats';
import { MqttForwardSubject } from '@twoway/contracts';
import {
  decodeForward,
  encodeForward,
  exceedsMaxPayload,
  forwardDecision,
  forwardSubjects,
  isTakeoverTopic,
  SYS_PREFIX,
  TAKEOVER_PATTERN,
  type ForwardablePacket,
  type ForwardSubjects,
} from './envelope.js';
import { RemoteInterest, type InterestMessage } from './interest.js';
import { MqEmitterClosedError, MqttForwardTooLargeError } from './errors.js';

export type Message = ForwardablePacket;
export type Listener = (message: Message, done: () => void) => void;
type Callback = (err?: Error | null) => void;

/** The log calls this module makes (a pino logger fits). */
export interface ClusterLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface NatsMqEmitterOptions {
  nc: NatsConnection;
  /** Unique per replica (pod name): the address other replicas forward to. */
  replicaId: string;
  log: ClusterLog;
  /** Base subject override for tests running several clusters on one NATS server. */
  subject?: string;
  /** Local deliveries in flight before emits queue (in order); aedes's own default is 100. */
  concurrency?: number;
  /** Called once when a NATS subscription ends while the emitter is open: the replica is cut off. */
  onSubscriptionClosed?: (err?: Error) => void;
  /** Interest heartbeat period (tests shorten it). */
  heartbeatMs?: number;
}

/**
 * A session this replica announced is compared with other replicas' notices for this long; after it,
 * any notice for its client id is newer (clocks and NATS are not that far apart), and ends it.
 */
const TAKEOVER_ECHO_WAIT_MS = 10_000;
/** Sessions announced within that window that are remembered at most; beyond it the oldest go. */
const TAKEOVER_REMEMBERED_MAX = 100_000;
/** Header of a takeover notice: when its replica accepted the session (ms since the epoch). */
export const TAKEOVER_SINCE_HEADER = 'tw-since';
/** NATS server default when the connection has not yet reported its INFO. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Each replica says it is alive, with its announcement number, this often. */
export const INTEREST_HEARTBEAT_MS = 1_000;
/** A replica not heard from for this many heartbeats is forgotten (its interest with it). */
const PEER_EXPIRY_HEARTBEATS = 3.5;
/** A SUBACK waits at most this long for the other replicas to apply the filter. */
export const INTEREST_ACK_TIMEOUT_MS = 1_000;
/** ready(): snapshots answering our hello are awaited until none came for this long … */
const HELLO_QUIET_MS = 100;
/** … or this long in all. A replica that answers later is learned from its next heartbeat. */
const HELLO_MAX_WAIT_MS = 1_000;
/** A snapshot message carries at most this many filter characters (NATS max_payload is 1 MiB by default). */
const SNAPSHOT_PART_CHARS = 64 * 1024;
/** Topics whose routes are cached; the cache is emptied when full or when any interest changes. */
const ROUTE_CACHE_MAX = 10_000;
const noop = () => {};
/** aedes's takeover notice carries the client id as its payload. */
const clientIdOf = (packet: Message): string => Buffer.from((packet.payload ?? '') as string | Uint8Array).toString('utf8');
const json = (m: InterestMessage) => Buffer.from(JSON.stringify(m), 'utf8');

interface PendingAck {
  seq: number;
  waiting: Set<string>;
  dones: (() => void)[];
  timer: NodeJS.Timeout;
}

export class NatsMqEmitter {
  /** Base subject: the fan-out's subjects are below it. */
  readonly subject: string;
  readonly subjects: ForwardSubjects;
  private readonly local: mqemitter.MQEmitter;
  private readonly subs: Subscription[] = [];
  /** aedes's takeover listener(s): the only local receivers of a remote `$SYS` packet. */
  private readonly takeoverListeners = new Set<Listener>();
  /**
   * Client ids this replica announced (takeover notice) in the last TAKEOVER_ECHO_WAIT_MS, oldest first,
   * with when the session was accepted and how many of our notices NATS has not echoed yet. A remote
   * notice for such an id ends our session only if its session was accepted later (or, from a replica
   * that sends no time, if the server ordered it after ours: our echo came first).
   */
  private readonly pendingTakeovers = new Map<string, { unechoed: number; at: number }>();
  /** This replica's filters and how many local listeners hold each. */
  private readonly filters = new Map<string, number>();
  private readonly incarnation = randomUUID();
  private seq = 0;
  private batch: { add: Set<string>; del: Set<string>; dones: (() => void)[] } | undefined;
  private readonly pendingAcks: PendingAck[] = [];
  private readonly remote = new RemoteInterest();
  /** Topic → the subjects of the replicas that want it, valid for `routesVersion`. */
  private readonly routes = new Map<string, string[]>();
  private outbox: { subject: string; data: Uint8Array; headers: MsgHdrs }[] = [];
  private routesVersion = -1;
  private readonly heartbeat: NodeJS.Timeout;
  private helloQuiet: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Counters for metrics and tests. */
  readonly stats = {
    /** NATS messages sent with a forwarded PUBLISH (one per interested replica). */
    forwarded: 0,
    /** Forwardable PUBLISHes no other replica wanted: nothing sent. */
    keptLocal: 0,
    /** Forwarded PUBLISHes received from other replicas. */
    received: 0,
    /** Takeover notices received from other replicas. */
    takeoversReceived: 0,
    echoesIgnored: 0,
    invalid: 0,
    refusedTooLarge: 0,
    publishFailures: 0,
    staleTakeoversIgnored: 0,
    /** Snapshots asked of other replicas (a lost announcement, a replica restarted or newly seen). */
    resyncs: 0,
    /** SUBACKs released by the timeout rather than by every replica's acknowledgement. */
    interestAckTimeouts: 0,
  };

  private constructor(private readonly opts: NatsMqEmitterOptions) {
    this.subject = opts.subject ?? MqttForwardSubject;
    this.subjects = forwardSubjects(this.subject);
    // matchEmptyLevels as aedes sets it: [MQTT-4.7.1-3] `sport/#` also matches `sport`.
    this.local = mqemitter({ concurrency: opts.concurrency ?? 100, matchEmptyLevels: true });
    const nc = opts.nc;
    this.watch(nc.subscribe(this.subjects.to(opts.replicaId), { callback: (err, msg) => this.onForwarded(err, msg) }));
    this.watch(nc.subscribe(this.subjects.takeover, { callback: (err, msg) => this.onTakeover(err, msg) }));
    this.watch(nc.subscribe(this.subjects.interest, { callback: (err, msg) => this.onInterest(err, msg) }));
    this.watch(nc.subscribe(this.subjects.direct(opts.replicaId), { callback: (err, msg) => this.onInterest(err, msg) }));
    const beatMs = opts.heartbeatMs ?? INTEREST_HEARTBEAT_MS;
    this.heartbeat = setInterval(() => this.beat(beatMs), beatMs);
    this.heartbeat.unref();
  }

  static create(opts: NatsMqEmitterOptions): NatsMqEmitter {
    return new NatsMqEmitter(opts);
  }

  private watch(sub: Subscription): void {
    this.subs.push(sub);
    sub.closed.then(
      () => this.subscriptionEnded(sub),
      (err: unknown) => this.subscriptionEnded(sub, err instanceof Error ? err : new Error(String(err))),
    );
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** False once closed or cut off from NATS: readiness should follow it. */
  get forwarding(): boolean {
    return !this.closed && this.subs.every((s) => !s.isClosed()) && !this.opts.nc.isClosed();
  }

  /** Local deliveries waiting for a free slot (mqemitter's `length`). */
  get length(): number {
    return (this.local as unknown as { length: number }).length;
  }

  get current(): number {
    return this.local.current;
  }

  /** The other replicas this one knows, with how many filters each announced. */
  get peers(): { replicaId: string; filters: number }[] {
    return [...this.remote.peers].map(([replicaId, p]) => ({ replicaId, filters: p.filters.size }));
  }

  on(topic: string, listener: Listener, done?: () => void): this {
    if (topic === TAKEOVER_PATTERN) this.takeoverListeners.add(listener);
    // mqemitter calls `done` at once; ours waits for the other replicas to know the filter too.
    this.local.on(topic, listener);
    const n = this.filters.get(topic) ?? 0;
    this.filters.set(topic, n + 1);
    if (n === 0 && !topic.startsWith(SYS_PREFIX)) this.announce('add', topic, done);
    else if (done) process.nextTick(done);
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): this {
    if (topic === TAKEOVER_PATTERN) this.takeoverListeners.delete(listener);
    this.local.removeListener(topic, listener);
    const n = this.filters.get(topic) ?? 0;
    if (n <= 1) {
      this.filters.delete(topic);
      // Messages already on their way are dropped by this replica's mqemitter: no listener matches.
      if (n === 1 && !topic.startsWith(SYS_PREFIX)) this.announce('del', topic);
    } else this.filters.set(topic, n - 1);
    if (done) process.nextTick(done);
    return this;
  }

  /** aedes calls this for every PUBLISH it accepted (clients, wills, broker `$SYS` packets). */
  emit(packet: Message, done: Callback = noop): this {
    if (this.closed) {
      done(new MqEmitterClosedError());
      return this;
    }
    if (forwardDecision(packet) === 'forward') {
      const max = this.opts.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
      const size = exceedsMaxPayload(packet, this.opts.replicaId, max);
      if (size !== undefined) {
        // Refused here, whoever subscribes, rather than delivered locally only: a message must reach
        // every replica or none. aedes answers a client's failed publish by closing that client
        // (MQTT 3.1.1 has no per-message refusal); wills and API publishes get the error in their callback.
        this.stats.refusedTooLarge++;
        this.opts.log.warn({ topicLength: packet.topic.length, encodedBytes: size, maxPayloadBytes: max }, 'MQTT message too large to forward; refused');
        done(new MqttForwardTooLargeError(packet.topic, size, max));
        return this;
      }
      if (isTakeoverTopic(packet.topic)) this.forwardTakeover(packet);
      else this.forward(packet);
    }
    this.local.emit(packet, done);
    return this;
  }

  private forward(packet: Message): void {
    const to = this.routesOf(packet.topic);
    if (to.length === 0) {
      this.stats.keptLocal++;
      return;
    }
    const { data, headers } = encodeForward(packet, this.opts.replicaId);
    for (const subject of to) this.enqueue(subject, data, headers);
  }

  /**
   * Publishes wait for the end of this turn of the event loop, then go out in order in one socket
   * write: nats.js flushes at every microtask checkpoint, and aedes handles each PUBLISH in its own
   * callbacks, so publishing at once costs one write (syscall) per message.
   */
  private enqueue(subject: string, data: Uint8Array, headers: MsgHdrs): void {
    if (this.outbox.length === 0) setImmediate(this.flushOutbox);
    this.outbox.push({ subject, data, headers });
  }

  private readonly flushOutbox = (): void => {
    const out = this.outbox;
    this.outbox = [];
    for (const m of out) {
      try {
        this.opts.nc.publish(m.subject, m.data, { headers: m.headers });
        this.stats.forwarded++;
      } catch (err) {
        // Closed or draining connection: local subscribers still get the message; remote ones cannot.
        this.stats.publishFailures++;
        this.opts.log.warn({ err }, 'could not forward MQTT message to other replicas');
      }
    }
  };

  private routesOf(topic: string): string[] {
    if (this.routesVersion !== this.remote.version || this.routes.size >= ROUTE_CACHE_MAX) {
      this.routes.clear();
      this.routesVersion = this.remote.version;
    }
    let to = this.routes.get(topic);
    if (!to) {
      to = [...this.remote.match(topic)].map((r) => this.subjects.to(r));
      this.routes.set(topic, to);
    }
    return to;
  }

  private forwardTakeover(packet: Message): void {
    const { data, headers } = encodeForward(packet, this.opts.replicaId);
    const now = Date.now();
    headers.set(TAKEOVER_SINCE_HEADER, String(now));
    try {
      // At once (rare): its echo must come back whatever else is queued.
      this.opts.nc.publish(this.subjects.takeover, data, { headers });
      this.stats.forwarded++;
      const id = clientIdOf(packet);
      const unechoed = (this.pendingTakeovers.get(id)?.unechoed ?? 0) + 1;
      // Re-inserted, so the map stays oldest first: the expired ones leave from its front.
      this.pendingTakeovers.delete(id);
      this.pendingTakeovers.set(id, { unechoed, at: now });
      for (const [k, v] of this.pendingTakeovers) {
        if (now - v.at < TAKEOVER_ECHO_WAIT_MS && this.pendingTakeovers.size <= TAKEOVER_REMEMBERED_MAX) break;
        this.pendingTakeovers.delete(k);
      }
    } catch (err) {
      this.stats.publishFailures++;
      this.opts.log.warn({ err }, 'could not forward a takeover notice to other replicas');
    }
  }

  private decode(err: NatsError | null, msg: Msg, what: string) {
    if (err) {
      this.opts.log.error({ err }, `${what} subscription error`);
      return undefined;
    }
    if (this.closed) return undefined;
    try {
      return decodeForward(msg);
    } catch (e) {
      this.stats.invalid++;
      this.opts.log.warn({ err: e }, 'dropped an invalid forwarded MQTT message');
      return undefined;
    }
  }

  private onForwarded(err: NatsError | null, msg: Msg): void {
    const f = this.decode(err, msg, 'MQTT forward');
    if (!f) return;
    this.stats.received++;
    // Only the takeover subject carries `$SYS`: a `$SYS` packet here did not come from a replica.
    if (f.packet.topic.startsWith(SYS_PREFIX)) {
      this.stats.invalid++;
      return;
    }
    // Remote packets go to local listeners only: never back onto NATS (no echo loop).
    this.local.emit(f.packet, (e?: Error | null) => {
      if (e) this.opts.log.warn({ err: e }, 'local delivery of a forwarded MQTT message failed');
    });
  }

  private onTakeover(err: NatsError | null, msg: Msg): void {
    const f = this.decode(err, msg, 'takeover');
    if (!f) return;
    const { origin, packet } = f;
    if (!isTakeoverTopic(packet.topic) || packet.clientId !== undefined) {
      this.stats.invalid++;
      return;
    }
    const id = clientIdOf(packet);
    if (origin === this.opts.replicaId) {
      this.stats.echoesIgnored++;
      const p = this.pendingTakeovers.get(id);
      if (p && p.unechoed > 0) p.unechoed--;
      return;
    }
    this.stats.takeoversReceived++;
    const ours = this.pendingTakeovers.get(id);
    if (ours !== undefined && Date.now() - ours.at < TAKEOVER_ECHO_WAIT_MS) {
      const since = Number(msg.headers?.get(TAKEOVER_SINCE_HEADER) || NaN);
      // Both replicas compare the same two times (ties: the larger replica id stays), so exactly one
      // of the two sessions ends.
      const theirsIsOlder = Number.isFinite(since) ? since < ours.at || (since === ours.at && origin < this.opts.replicaId) : ours.unechoed > 0;
      if (theirsIsOlder) {
        this.stats.staleTakeoversIgnored++;
        return;
      }
    }
    // Only aedes's takeover handler sees another replica's `$SYS`; local `$SYS/#` subscribers do not.
    for (const l of this.takeoverListeners) l(packet, noop);
  }

  // ---- interest ----

  /** Queue a filter change; changes made in one turn of the event loop go out as one delta. */
  private announce(change: 'add' | 'del', filter: string, done?: () => void): void {
    if (!this.batch) {
      this.batch = { add: new Set(), del: new Set(), dones: [] };
      setImmediate(() => this.flushAnnouncements());
    }
    const b = this.batch;
    if (change === 'add') {
      if (!b.del.delete(filter)) b.add.add(filter);
    } else if (!b.add.delete(filter)) b.del.add(filter);
    if (done) b.dones.push(done);
  }

  private flushAnnouncements(): void {
    const b = this.batch;
    this.batch = undefined;
    if (!b) return;
    const release = () => b.dones.forEach((d) => d());
    if (this.closed) return release();
    if (b.add.size === 0 && b.del.size === 0) return release();
    const s = ++this.seq;
    const m: InterestMessage = { k: 'delta', r: this.opts.replicaId, i: this.incarnation, s };
    if (b.add.size) m.add = [...b.add];
    if (b.del.size) m.del = [...b.del];
    try {
      this.opts.nc.publish(this.subjects.interest, json(m), { reply: this.subjects.direct(this.opts.replicaId) });
    } catch (err) {
      // Our next heartbeat carries the new number: the others notice the gap and ask for a snapshot.
      this.opts.log.warn({ err }, 'could not announce subscription filters to other replicas');
      return release();
    }
    const waiting = new Set(this.remote.peers.keys());
    if (waiting.size === 0 || b.dones.length === 0) return release();
    const pending: PendingAck = {
      seq: s,
      waiting,
      dones: b.dones,
      timer: setTimeout(() => {
        this.stats.interestAckTimeouts++;
        this.opts.log.warn({ replicas: [...pending.waiting] }, 'replicas did not acknowledge new subscription filters in time');
        this.settle(pending);
      }, INTEREST_ACK_TIMEOUT_MS),
    };
    this.pendingAcks.push(pending);
  }

  private settle(p: PendingAck): void {
    clearTimeout(p.timer);
    const i = this.pendingAcks.indexOf(p);
    if (i >= 0) this.pendingAcks.splice(i, 1);
    p.dones.forEach((d) => d());
  }

  /** `replica` applied our announcements up to `seq` (or is gone: seq Infinity). */
  private acknowledged(replica: string, seq: number): void {
    for (const p of [...this.pendingAcks]) {
      if (p.seq <= seq && p.waiting.delete(replica) && p.waiting.size === 0) this.settle(p);
    }
  }

  private snapshotTo(subject: string): void {
    const base = { k: 'snap' as const, r: this.opts.replicaId, i: this.incarnation, s: this.seq };
    const all = [...this.filters.keys()].filter((f) => !f.startsWith(SYS_PREFIX));
    const parts: string[][] = [[]];
    let chars = 0;
    for (const f of all) {
      if (chars + f.length > SNAPSHOT_PART_CHARS && parts[parts.length - 1]!.length) (parts.push([]), (chars = 0));
      parts[parts.length - 1]!.push(f);
      chars += f.length + 3;
    }
    parts.forEach((filters, n) => this.send(subject, { ...base, filters, first: n === 0, last: n === parts.length - 1 }));
  }

  private send(subject: string, m: InterestMessage, reply?: string): void {
    try {
      this.opts.nc.publish(subject, json(m), reply ? { reply } : undefined);
    } catch (err) {
      this.opts.log.warn({ err, kind: m.k }, 'could not send an interest announcement');
    }
  }

  private onInterest(err: NatsError | null, msg: Msg): void {
    if (err) {
      this.opts.log.error({ err }, 'MQTT interest subscription error');
      return;
    }
    if (this.closed) return;
    let m: InterestMessage;
    try {
      m = JSON.parse(Buffer.from(msg.data).toString('utf8')) as InterestMessage;
      if (!m || typeof m !== 'object' || typeof m.k !== 'string' || typeof m.r !== 'string') throw new Error('not an interest message');
    } catch (e) {
      this.stats.invalid++;
      this.opts.log.warn({ err: e }, 'dropped an invalid interest announcement');
      return;
    }
    if (m.r === this.opts.replicaId) return; // our own broadcast
    if (m.k === 'ack') return this.acknowledged(m.r, m.s);
    if (m.k === 'bye') this.acknowledged(m.r, Infinity);
    const before = this.remote.peers.get(m.r);
    const { needSnapshot } = this.remote.apply(m, Date.now());
    if (needSnapshot) {
      this.stats.resyncs++;
      this.send(this.subjects.direct(m.r), { k: 'sync', r: this.opts.replicaId, i: this.incarnation }, this.subjects.direct(this.opts.replicaId));
    }
    if (before && before.incarnation !== this.remote.peers.get(m.r)?.incarnation) this.acknowledged(m.r, Infinity);
    if (m.k === 'delta' && msg.reply) this.send(msg.reply, { k: 'ack', r: this.opts.replicaId, s: m.s });
    if ((m.k === 'hello' || m.k === 'sync') && msg.reply) this.snapshotTo(msg.reply);
    if (m.k === 'snap') this.helloQuiet?.();
  }

  private beat(periodMs: number): void {
    if (this.closed) return;
    for (const r of this.remote.expire(Date.now() - periodMs * PEER_EXPIRY_HEARTBEATS)) {
      this.opts.log.warn({ replica: r }, 'replica silent: its subscription filters are forgotten');
      this.acknowledged(r, Infinity);
    }
    this.send(this.subjects.interest, { k: 'beat', r: this.opts.replicaId, i: this.incarnation, s: this.seq });
  }

  private subscriptionEnded(sub: Subscription, err?: Error): void {
    if (this.closed) return;
    this.opts.log.error({ err, subject: sub.getSubject() }, 'MQTT forward subscription ended; this replica no longer sees other replicas');
    this.opts.onSubscriptionClosed?.(err);
  }

  /**
   * Resolves once the server has this replica's subscriptions and the other replicas answered with
   * their filters. Until then our own takeover notice could be published without its echo ever coming
   * back, and a newer session on another replica would be taken for an older one (regression: a
   * cross-replica takeover that never ended); and our publishes would miss the others' subscribers.
   */
  async ready(): Promise<void> {
    await this.opts.nc.flush();
    let resolve: () => void = noop;
    const answered = new Promise<void>((r) => (resolve = r));
    let quiet = setTimeout(resolve, HELLO_QUIET_MS);
    const cap = setTimeout(resolve, HELLO_MAX_WAIT_MS);
    this.helloQuiet = () => {
      clearTimeout(quiet);
      quiet = setTimeout(resolve, HELLO_QUIET_MS);
    };
    this.send(this.subjects.interest, { k: 'hello', r: this.opts.replicaId, i: this.incarnation, s: this.seq }, this.subjects.direct(this.opts.replicaId));
    // A hello says "no filters as of s": filters made before ready() follow as a snapshot of the same s.
    if ([...this.filters.keys()].some((f) => !f.startsWith(SYS_PREFIX))) this.snapshotTo(this.subjects.interest);
    await answered;
    clearTimeout(quiet);
    clearTimeout(cap);
    this.helloQuiet = undefined;
  }

  /** aedes calls this from its own close(). Says goodbye and unsubscribes; the NATS connection belongs to the caller. */
  close(cb: () => void = noop): void {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        clearInterval(this.heartbeat);
        this.flushOutbox();
        for (const p of [...this.pendingAcks]) this.settle(p);
        if (!this.opts.nc.isClosed()) this.send(this.subjects.interest, { k: 'bye', r: this.opts.replicaId, i: this.incarnation });
        for (const s of this.subs) if (!s.isClosed()) s.unsubscribe();
        this.local.close(() => resolve());
      });
    }
    this.closing.then(cb, cb);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return new Promise((resolve) => this.close(resolve));
  }
}
