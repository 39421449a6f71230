// An mqemitter for aedes (`new Aedes({ mq })`) that spans every broker replica: subscriptions match
// locally with mqemitter's MQTT wildcard semantics, and every local PUBLISH is also sent once on core
// NATS (`MqttForwardSubject`) so the other replicas deliver it to their own subscribers.
//
// Delivery across replicas is at most once (core NATS, no acknowledgement): a QoS 1/2 PUBLISH is
// acknowledged by its replica when local delivery is done, and a NATS outage loses what other replicas
// would have received. Order is kept per publisher: one client is on one replica, which publishes on
// one NATS connection, and NATS keeps the order of one connection's messages to one subscriber.
import mqemitter from 'mqemitter';
import type { NatsConnection, Subscription, Msg, NatsError } from 'nats';
import { MqttForwardSubject } from '@twoway/contracts';
import {
  decodeEnvelope,
  encodeEnvelope,
  forwardDecision,
  isTakeoverTopic,
  packetFromEnvelope,
  TAKEOVER_PATTERN,
  type ForwardablePacket,
} from './envelope.js';
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
  /** Unique per replica (pod name): envelopes carrying it are this replica's own echo. */
  replicaId: string;
  log: ClusterLog;
  /** Subject override for tests running several clusters on one NATS server. */
  subject?: string;
  /** Local deliveries in flight before emits queue (in order); aedes's own default is 100. */
  concurrency?: number;
  /** Called once when the NATS subscription ends while the emitter is open: the replica is cut off. */
  onSubscriptionClosed?: (err?: Error) => void;
}

/** A takeover notice whose echo never came (NATS away) stops shielding its client after this long. */
const TAKEOVER_ECHO_WAIT_MS = 10_000;
/** NATS server default when the connection has not yet reported its INFO. */
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
const noop = () => {};
/** aedes's takeover notice carries the client id as its payload. */
const clientIdOf = (packet: Message): string => Buffer.from((packet.payload ?? '') as string | Uint8Array).toString('utf8');

export class NatsMqEmitter {
  readonly subject: string;
  private readonly local: mqemitter.MQEmitter;
  private readonly sub: Subscription;
  /** aedes's takeover listener(s): the only local receivers of a remote `$SYS` packet. */
  private readonly takeoverListeners = new Set<Listener>();
  /**
   * Client ids this replica announced (takeover notice) whose echo has not come back from NATS yet, with
   * the time of the announcement. A remote notice for such an id was ordered before ours by the server:
   * it is the older session, which our notice ends on its replica, so it must not end ours.
   */
  private readonly pendingTakeovers = new Map<string, { unechoed: number; at: number }>();
  private closing: Promise<void> | undefined;
  /** Counters for metrics and tests. */
  readonly stats = { forwarded: 0, received: 0, echoesIgnored: 0, invalid: 0, refusedTooLarge: 0, publishFailures: 0, staleTakeoversIgnored: 0 };

  private constructor(private readonly opts: NatsMqEmitterOptions) {
    this.subject = opts.subject ?? MqttForwardSubject;
    // matchEmptyLevels as aedes sets it: [MQTT-4.7.1-3] `sport/#` also matches `sport`.
    this.local = mqemitter({ concurrency: opts.concurrency ?? 100, matchEmptyLevels: true });
    this.sub = opts.nc.subscribe(this.subject, { callback: (err, msg) => this.onRemote(err, msg) });
    this.sub.closed.then(
      () => this.subscriptionEnded(),
      (err: unknown) => this.subscriptionEnded(err instanceof Error ? err : new Error(String(err))),
    );
  }

  static create(opts: NatsMqEmitterOptions): NatsMqEmitter {
    return new NatsMqEmitter(opts);
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** False once closed or cut off from NATS: readiness should follow it. */
  get forwarding(): boolean {
    return !this.closed && !this.sub.isClosed() && !this.opts.nc.isClosed();
  }

  /** Local deliveries waiting for a free slot (mqemitter's `length`). */
  get length(): number {
    return (this.local as unknown as { length: number }).length;
  }

  get current(): number {
    return this.local.current;
  }

  on(topic: string, listener: Listener, done?: () => void): this {
    if (topic === TAKEOVER_PATTERN) this.takeoverListeners.add(listener);
    this.local.on(topic, listener, done);
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): this {
    if (topic === TAKEOVER_PATTERN) this.takeoverListeners.delete(listener);
    this.local.removeListener(topic, listener, done);
    return this;
  }

  /** aedes calls this for every PUBLISH it accepted (clients, wills, broker `$SYS` packets). */
  emit(packet: Message, done: Callback = noop): this {
    if (this.closed) {
      done(new MqEmitterClosedError());
      return this;
    }
    if (forwardDecision(packet) === 'forward') {
      const data = encodeEnvelope(packet, this.opts.replicaId);
      const max = this.opts.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
      if (data.byteLength > max) {
        // Refused here rather than delivered locally only: a message must reach every replica or none.
        // aedes answers a client's failed publish by closing that client (MQTT 3.1.1 has no
        // per-message refusal); wills and API publishes get the error in their callback.
        this.stats.refusedTooLarge++;
        this.opts.log.warn({ topicLength: packet.topic.length, encodedBytes: data.byteLength, maxPayloadBytes: max }, 'MQTT message too large to forward; refused');
        done(new MqttForwardTooLargeError(packet.topic, data.byteLength, max));
        return this;
      }
      try {
        this.opts.nc.publish(this.subject, data);
        this.stats.forwarded++;
        if (isTakeoverTopic(packet.topic)) {
          const id = clientIdOf(packet);
          const now = Date.now();
          // Echoes lost while NATS was away would leave entries behind: drop the expired ones.
          if (this.pendingTakeovers.size > 10_000) {
            for (const [k, v] of this.pendingTakeovers) if (now - v.at >= TAKEOVER_ECHO_WAIT_MS) this.pendingTakeovers.delete(k);
          }
          this.pendingTakeovers.set(id, { unechoed: (this.pendingTakeovers.get(id)?.unechoed ?? 0) + 1, at: now });
        }
      } catch (err) {
        // Closed or draining connection: local subscribers still get the message; remote ones cannot.
        this.stats.publishFailures++;
        this.opts.log.warn({ err }, 'could not forward MQTT message to other replicas');
      }
    }
    this.local.emit(packet, done);
    return this;
  }

  private onRemote(err: NatsError | null, msg: Msg): void {
    if (err) {
      this.opts.log.error({ err }, 'MQTT forward subscription error');
      return;
    }
    if (this.closed) return;
    let packet;
    try {
      const env = decodeEnvelope(msg.data);
      packet = packetFromEnvelope(env);
      if (env.origin === this.opts.replicaId) {
        this.stats.echoesIgnored++;
        if (isTakeoverTopic(packet.topic)) {
          const id = clientIdOf(packet);
          const p = this.pendingTakeovers.get(id);
          if (p && --p.unechoed <= 0) this.pendingTakeovers.delete(id);
        }
        return;
      }
    } catch (e) {
      this.stats.invalid++;
      this.opts.log.warn({ err: e }, 'dropped an invalid forwarded MQTT message');
      return;
    }
    this.stats.received++;
    if (isTakeoverTopic(packet.topic)) {
      const announced = this.pendingTakeovers.get(clientIdOf(packet));
      if (announced !== undefined && Date.now() - announced.at < TAKEOVER_ECHO_WAIT_MS) {
        this.stats.staleTakeoversIgnored++;
        return;
      }
      // Only aedes's takeover handler sees another replica's `$SYS`; local `$SYS/#` subscribers do not.
      for (const l of this.takeoverListeners) l(packet, noop);
      return;
    }
    // Remote packets go to local listeners only: never back onto NATS (no echo loop).
    this.local.emit(packet, (e?: Error | null) => {
      if (e) this.opts.log.warn({ err: e }, 'local delivery of a forwarded MQTT message failed');
    });
  }

  private subscriptionEnded(err?: Error): void {
    if (this.closed) return;
    this.opts.log.error({ err, subject: this.subject }, 'MQTT forward subscription ended; this replica no longer sees other replicas');
    this.opts.onSubscriptionClosed?.(err);
  }

  /** aedes calls this from its own close(). Unsubscribes; the NATS connection belongs to the caller. */
  /**
   * Resolves once the server has this replica's subscription. Until then our own takeover notice
   * could be published without its echo ever coming back, and a newer session on another replica
   * would be taken for an older one (regression: a cross-replica takeover that never ended).
   */
  ready(): Promise<void> {
    return this.opts.nc.flush();
  }

  close(cb: () => void = noop): void {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        if (!this.sub.isClosed()) this.sub.unsubscribe();
        this.local.close(() => resolve());
      });
    }
    this.closing.then(cb, cb);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return new Promise((resolve) => this.close(resolve));
  }
}
