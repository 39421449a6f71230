// aedes session state in NATS JetStream, shared by every broker replica: hand `persistence` to aedes.
//
//   retained messages       KV, one key per topic, mirrored into memory on every replica
//   subscriptions           KV, one key per persistent client, mirrored into a local trie on every replica
//                           (subscriptionsByTopic runs on every QoS 1/2 publish and never leaves memory)
//   outgoing QoS 1/2 queues one stream, one subject per session (outgoing-queues.ts)
//   inbound QoS 2 packets   one stream, one subject per (client, messageId)
//   wills                   KV, one key per client, owned by the replica incarnation that stored it
//   replica liveness        KV of heartbeats (liveness.ts): decides whose wills are published
//
// A session therefore survives a reconnect to another replica, a rolling restart and a replica's crash.
// Every read on a hot path is local; a replica's own write is in its memory before the call resolves.
// Other replicas apply it a moment later (one watch delivery): a QoS 1/2 message published on another
// replica in that moment after SUBACK, while the subscriber is offline, is not queued for it.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { MsgRequest, NatsConnection, JetStreamManager, JetStreamClient, StoredMsg } from 'nats';
import { DiscardPolicy, RetentionPolicy, StorageType, nanos } from 'nats';
import type { ClusterLog } from '../nats-mq-emitter.js';
import { decodeEnvelope, encodeEnvelope, packetFromEnvelope } from '../envelope.js';
import { keyOf, ofKey, encodeRecord, decodeRecord, toJson, fromJson, packetToMessage, packetFromMessage, type StoredPacket } from './codec.js';
import { KvMirror, KvWriteConflictError } from './kv-mirror.js';
import { ReplicaLiveness } from './liveness.js';
import { OutgoingQueues, Packet, type DroppedMessages, type QueueStats } from './outgoing-queues.js';
import { ensureStream, isNoMessage, openKv } from './jetstream.js';
import {
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_LIVENESS_INTERVAL_MS,
  DEFAULT_QUEUE_EXPIRY_MS,
  DEFAULT_QUEUE_MAX_BYTES,
  DEFAULT_QUEUE_MAX_MESSAGES,
  QUEUE_MAX_AGE_MARGIN_MS,
  sessionStoreNames,
  type QueueLimits,
  type SessionStoreNames,
} from './names.js';

const require = createRequire(import.meta.url);

/** The part of aedes-persistence's in-memory persistence kept as this replica's mirror. */
interface MemoryPersistence {
  storeRetained(packet: object): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: { id: string }, subs: object[]): Promise<void>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<void>;
  cleanSubscriptions(client: { id: string }): Promise<void>;
  subscriptionsByTopic(topic: string): Promise<unknown[]>;
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
  getClientList(topic: string): Readable;
}
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new () => MemoryPersistence;

export interface NatsPersistenceOptions {
  nc: NatsConnection;
  /** This replica (pod name); logged with heartbeats. Wills are owned by aedes' broker id + a per-process incarnation. */
  replicaId: string;
  log: ClusterLog;
  /** JetStream replicas of every bucket and stream (3 on a three-node NATS cluster); an existing higher count is kept. */
  replicas?: number;
  limits?: Partial<QueueLimits>;
  /** Every queued packet dropped by a bound or by expiry. */
  onDropped?: (d: DroppedMessages) => void;
  /** Names every bucket and stream `<prefix>_...` (tests, side-by-side clusters); production names otherwise. */
  prefix?: string;
  /** Stream-wide byte cap of all outgoing queues together; none by default. */
  queueStreamMaxBytes?: number;
  livenessIntervalMs?: number;
  deadAfterMs?: number;
  /** How long one JetStream call may take before it fails. */
  timeoutMs?: number;
  /** A bucket watch ended unexpectedly: this replica's view of the cluster is frozen; readiness should be false. */
  onWatchEnded?: (what: string, err?: Error) => void;
}

export interface NatsPersistenceStats extends QueueStats {
  /** Wills of dead replicas this replica claimed (and handed to aedes to publish). */
  willsClaimed: number;
  /** streamWill calls (aedes looks for wills every 4 × heartbeatInterval). */
  willRounds: number;
}

export interface NatsPersistence {
  /** Hand to aedes as `persistence`. */
  readonly persistence: AedesNatsPersistence;
  /** Resolves once this replica's memory holds everything the buckets held when called. */
  sync(): Promise<void>;
  /** Stop heartbeats (the other replicas take over our remaining wills at once), timers and watches. The NATS connection belongs to the caller. */
  stop(): Promise<void>;
  readonly stats: NatsPersistenceStats;
  readonly names: SessionStoreNames;
  [Symbol.asyncDispose](): Promise<void>;
}

interface ClientRef {
  id: string;
  clean?: boolean;
  brokerId?: string;
}
interface Subscription {
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  subscriptionIdentifier?: number;
}
type SubscriptionRecord = Omit<Subscription, 'topic'>;
type Subscriptions = Record<string, SubscriptionRecord>;
interface WillRecord {
  will: StoredPacket;
  brokerId: string;
  /** Replica incarnation whose client it is. */
  incarnation: string;
  /** Incarnation that took it over to publish it, once its owner was dead. */
  claimedBy?: string;
}
interface Broker {
  id: string;
}

export class PacketNotFoundError extends Error {
  override name = 'PacketNotFoundError';
  constructor() {
    super('no such packet');
  }
}

/** Retained values keep the forwarded-envelope format (older replicas read it) plus the packet's exact fields. */
/** Inbound QoS 2 keys remembered for a later purge (see cleanIncoming). */
const STORED_INCOMING_MAX = 100_000;
const ENVELOPE_FIELDS = new Set(['topic', 'payload', 'qos', 'retain', 'brokerId', 'brokerCounter', 'clientId', 'properties', 'messageExpiry']);
function encodeRetained(packet: StoredPacket, replicaId: string): Uint8Array {
  const env = JSON.parse(Buffer.from(encodeEnvelope({ ...(packet as { topic: string }), retain: true }, replicaId)).toString('utf8')) as Record<string, unknown>;
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(packet)) if (!ENVELOPE_FIELDS.has(k)) extra[k] = v;
  if (typeof packet.payload === 'string') extra.payload = packet.payload;
  env.keys = Object.keys(packet);
  env.extra = JSON.parse(toJson(extra)) as unknown;
  return Buffer.from(JSON.stringify(env), 'utf8');
}
function decodeRetained(topic: string, data: Uint8Array): StoredPacket {
  const env = decodeEnvelope(data) as ReturnType<typeof decodeEnvelope> & { keys?: unknown; extra?: Record<string, unknown> };
  if (env.topic !== topic) throw new Error('topic does not match the key');
  const p = { ...packetFromEnvelope(env), retain: true } as Record<string, unknown>;
  if (!Array.isArray(env.keys)) return p;
  const out: StoredPacket = {};
  for (const k of env.keys as string[]) out[k] = env.extra && k in env.extra ? env.extra[k] : p[k];
  return out;
}

function subscriptionOf(topic: string, r: SubscriptionRecord): Subscription {
  // The shape aedes-persistence returns: the four fields always present, the identifier only when set.
  const sub: Subscription = { topic, qos: r.qos, rh: r.rh, rap: r.rap, nl: r.nl } as Subscription;
  if (r.subscriptionIdentifier !== undefined) sub.subscriptionIdentifier = r.subscriptionIdentifier;
  return sub;
}
function recordOf(s: Subscription): SubscriptionRecord {
  const r: SubscriptionRecord = { qos: s.qos, rh: s.rh, rap: s.rap, nl: s.nl };
  if (s.subscriptionIdentifier !== undefined) r.subscriptionIdentifier = s.subscriptionIdentifier;
  return r;
}
const sameRecord = (a: SubscriptionRecord | undefined, b: SubscriptionRecord): boolean => a !== undefined && toJson(a) === toJson(b);

/** The object aedes calls (the async API of aedes-persistence 11). */
export class AedesNatsPersistence {
  #broker: Broker | undefined;
  #stopping: Promise<void> | undefined;
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Wills this replica claimed: client id → revision of the claim. */
  readonly #claims = new Map<string, number>();
  /** Per clean-session connection (aedes' client object): the nonce of its inbound QoS 2 namespace. */
  readonly #connectionNonces = new WeakMap<object, string>();
  /** Inbound QoS 2 keys this replica stored state under and has not purged (insertion order, bounded). */
  readonly #storedIncoming = new Set<string>();
  #inflight = 0;
  #idle: (() => void) | undefined;

  /** @internal built by createNatsPersistence */
  constructor(
    private readonly opts: NatsPersistenceOptions & { timeoutMs: number },
    private readonly names: SessionStoreNames,
    private readonly memory: MemoryPersistence,
    private readonly retained: KvMirror<StoredPacket>,
    private readonly subs: KvMirror<Subscriptions>,
    private readonly wills: KvMirror<WillRecord>,
    private readonly liveness: ReplicaLiveness,
    private readonly outgoing: OutgoingQueues,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    readonly stats: NatsPersistenceStats,
  ) {}

  get broker(): Broker | undefined {
    return this.#broker;
  }

  async setup(broker: Broker): Promise<void> {
    this.#broker = broker;
    await this.liveness.start(broker.id);
  }

  /** Counts calls in flight, so stop() lets the last will deletions of a closing aedes finish first. */
  private async track<T>(op: () => Promise<T>): Promise<T> {
    this.#inflight++;
    try {
      return await op();
    } finally {
      if (--this.#inflight === 0) this.#idle?.();
    }
  }

  /** Runs `op` after every earlier op on `key` of this replica (read-modify-write of one KV key). */
  private serial<T>(key: string, op: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const next = prev.then(op, op);
    const tail = next.catch(() => undefined);
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return next;
  }

  // --- retained: [MQTT-3.3.1-5] one per topic; [MQTT-3.3.1-10/11] an empty payload removes it ---

  async storeRetained(packet: StoredPacket & { topic: string }): Promise<void> {
    const key = keyOf(packet.topic);
    const payload = packet.payload as string | Uint8Array | undefined;
    if (payload === undefined || payload.length === 0) await this.retained.delete(key);
    else await this.retained.put(key, encodeRetained(packet, this.opts.replicaId));
  }

  createRetainedStream(pattern: string): Readable {
    return this.memory.createRetainedStream(pattern);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.memory.createRetainedStreamCombi(patterns);
  }

  // --- subscriptions of persistent sessions ---

  private async writeSubscriptions(client: ClientRef, change: (current: Subscriptions) => Subscriptions | undefined): Promise<void> {
    const key = keyOf(client.id);
    await this.serial(`s:${key}`, async () => {
      for (let attempt = 0; ; attempt++) {
        const cur = this.subs.get(key);
        const next = change({ ...(cur?.value ?? {}) });
        if (next === undefined) return;
        try {
          if (Object.keys(next).length === 0) {
            if (cur !== undefined) await this.subs.delete(key, cur.revision);
          } else {
            await this.subs.putIf(key, encodeRecord(next));
          }
          return;
        } catch (err) {
          // Another replica wrote this client's subscriptions (a takeover in flight): catch up and redo.
          if (!(err instanceof KvWriteConflictError) || attempt >= 5) throw err;
          await this.subs.sync();
        }
      }
    });
  }

  async addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void> {
    await this.writeSubscriptions(client, (current) => {
      let changed = false;
      for (const s of subs) {
        const r = recordOf(s);
        if (!sameRecord(current[s.topic], r)) {
          current[s.topic] = r;
          changed = true;
        }
      }
      // aedes calls this once per topic of a SUBSCRIBE, each time with all of them: write once.
      return changed ? current : undefined;
    });
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await this.writeSubscriptions(client, (current) => {
      let changed = false;
      for (const t of topics) {
        if (t in current) {
          delete current[t];
          changed = true;
        }
      }
      return changed ? current : undefined;
    });
  }

  /** Read from the stream leader, not the mirror: the client may have subscribed on another replica a moment ago. */
  async subscriptionsByClient(client: ClientRef): Promise<Subscription[]> {
    let m: StoredMsg;
    try {
      m = await this.jsm.streams.getMessage(`KV_${this.names.subscriptionsBucket}`, { last_by_subj: `$KV.${this.names.subscriptionsBucket}.${keyOf(client.id)}` });
    } catch (err) {
      if (isNoMessage(err)) return [];
      throw err;
    }
    const op = m.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') return [];
    return Object.entries(decodeRecord<Subscriptions>(m.data)).map(([topic, r]) => subscriptionOf(topic, r));
  }

  countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return this.memory.countOffline();
  }

  subscriptionsByTopic(topic: string): Promise<unknown[]> {
    return this.memory.subscriptionsByTopic(topic);
  }

  /** A clean start: [MQTT-3.1.2-6] the session's subscriptions and queue go. */
  async cleanSubscriptions(client: ClientRef): Promise<void> {
    const key = keyOf(client.id);
    // Called on every clean CONNECT: only a client that had a persistent session costs a write.
    if (this.subs.get(key) === undefined) return;
    await this.writeSubscriptions(client, () => ({}));
    await this.outgoing.discard(client.id);
  }

  getClientList(topic: string): Readable {
    return this.memory.getClientList(topic);
  }

  // --- outgoing QoS 1/2 queues ---

  async outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<void> {
    await this.outgoing.enqueue([sub], packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void> {
    await this.outgoing.enqueue(subs, packet);
  }

  async outgoingUpdate(client: ClientRef, packet: { cmd?: string; messageId?: number; brokerId?: string; brokerCounter?: number }): Promise<void> {
    await this.outgoing.update(client, packet);
  }

  async outgoingClearMessageId(client: ClientRef, packet: { messageId?: number } | number): Promise<StoredPacket | undefined> {
    return this.outgoing.clear(client, packet);
  }

  outgoingStream(client: ClientRef): Readable {
    return this.outgoing.stream(client);
  }

  // --- inbound QoS 2 awaiting PUBREL ---

  /**
   * Whose inbound QoS 2 state a key names. A clean-session connection ([MQTT-3.1.2-6]) keeps its state
   * under a name of its own (the client id and a per-connection nonce), so no state of an earlier
   * connection can ever match it: discarding the old state at CONNECT costs no request, and a connect
   * does not wait for JetStream (nor fail while NATS is away). A persistent session's state is keyed by
   * its client id, to survive a reconnect to another replica.
   */
  private incomingKey(client: ClientRef): string {
    const c = client as ClientRef & { clean?: boolean };
    if (c.clean !== true) return keyOf(client.id);
    let nonce = this.#connectionNonces.get(c);
    if (nonce === undefined) this.#connectionNonces.set(c, (nonce = randomUUID().slice(0, 13)));
    return `${keyOf(client.id)}=${nonce}`;
  }

  private incomingSubject(client: ClientRef, messageId: unknown): string {
    return `${this.names.inSubject}.${this.incomingKey(client)}.${Number(messageId)}`;
  }

  async incomingStorePacket(client: ClientRef, packet: StoredPacket & { messageId: number }): Promise<void> {
    const stored = new Packet(packet);
    stored.messageId = packet.messageId;
    const { headers, data } = packetToMessage(stored);
    const key = this.incomingKey(client);
    this.#storedIncoming.delete(key);
    this.#storedIncoming.add(key);
    // Bounded: forgetting the oldest only costs a purge that is skipped (the stream's max_age still ends it).
    if (this.#storedIncoming.size > STORED_INCOMING_MAX) this.#storedIncoming.delete(this.#storedIncoming.values().next().value!);
    await this.js.publish(this.incomingSubject(client, packet.messageId), data, { headers, timeout: this.opts.timeoutMs });
  }

  async incomingGetPacket(client: ClientRef, packet: { messageId: number }): Promise<StoredPacket> {
    let m: StoredMsg;
    try {
      m = await this.jsm.streams.getMessage(this.names.inStream, { last_by_subj: this.incomingSubject(client, packet.messageId) } as MsgRequest);
    } catch (err) {
      if (isNoMessage(err)) throw new PacketNotFoundError();
      throw err;
    }
    const stored = packetFromMessage(m.header, m.data);
    const p = new Packet(stored);
    p.messageId = stored.messageId;
    return p;
  }

  async incomingDelPacket(client: ClientRef, packet: { messageId: number }): Promise<void> {
    const r = await this.jsm.streams.purge(this.names.inStream, { filter: this.incomingSubject(client, packet.messageId) });
    if (r.purged === 0) throw new PacketNotFoundError();
  }

  /**
   * aedes calls this for a clean-session client at CONNECT and at close. Only state that may exist is
   * purged: this connection's own (if it stored any here), and the client id's persistent-session state
   * when this replica stored some or the client had a persistent session (its subscriptions are
   * mirrored here). A caller that does not say `clean` (the persistence contract's own) always purges.
   */
  async cleanIncoming(client: ClientRef): Promise<void> {
    const c = client as ClientRef & { clean?: boolean };
    const purge = (key: string) => {
      this.#storedIncoming.delete(key);
      return this.jsm.streams.purge(this.names.inStream, { filter: `${this.names.inSubject}.${key}.*` });
    };
    const persistentKey = keyOf(client.id);
    if (c.clean !== true) {
      await purge(persistentKey);
      return;
    }
    const own = this.incomingKey(client);
    const work: Promise<unknown>[] = [];
    if (this.#storedIncoming.has(own)) work.push(purge(own));
    if (this.#storedIncoming.has(persistentKey) || this.subs.get(persistentKey) !== undefined) work.push(purge(persistentKey));
    await Promise.all(work);
  }

  // --- wills ---

  async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    await this.track(async () => {
      const brokerId = this.#broker?.id ?? this.opts.replicaId;
      // As aedes-persistence does: the stored will names its broker and client.
      packet.brokerId = brokerId;
      packet.clientId = client.id;
      await this.wills.put(keyOf(client.id), encodeRecord({ will: packet, brokerId, incarnation: this.liveness.incarnation } satisfies WillRecord));
    });
  }

  async getWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const r = this.wills.get(keyOf(client.id));
    return r ? fromJson<StoredPacket>(toJson(r.value.will)) : undefined;
  }

  /**
   * aedes deletes a will on CONNECT (the client object has no brokerId: any will of that client goes),
   * after publishing it on close (`{ id, brokerId }`: only if it is still this replica's, so a client that
   * already reconnected elsewhere keeps its new will), and after publishing a claimed will.
   */
  async delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    return this.track(async () => {
      const key = keyOf(client.id);
      const cur = this.wills.get(key);
      const claim = this.#claims.get(client.id);
      this.#claims.delete(client.id);
      if (cur === undefined) return undefined;
      if (claim !== undefined) {
        if (claim !== cur.revision) return undefined;
      } else if (client.brokerId !== undefined && (client.brokerId !== cur.value.brokerId || cur.value.incarnation !== this.liveness.incarnation)) {
        return undefined;
      }
      try {
        await this.wills.delete(key, cur.revision);
      } catch (err) {
        if (err instanceof KvWriteConflictError) return undefined;
        throw err;
      }
      return fromJson<StoredPacket>(toJson(cur.value.will));
    });
  }

  /**
   * The wills aedes should publish now. Its `brokers` argument cannot tell (heartbeats stay on their
   * replica), so: this replica's own wills as aedes-persistence would (broker not in `brokers`), and the
   * wills of incarnations dead by the liveness bound, each claimed atomically first (a KV update on the
   * revision we saw) so exactly one surviving replica publishes it. A claim whose claimer died is taken over.
   */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const self = this;
    async function* due() {
      self.stats.willRounds++;
      const me = self.liveness.incarnation;
      for (const [key, { value: rec, revision }] of [...self.wills.entries()]) {
        if (rec.incarnation === me) {
          if (brokers[rec.brokerId] === undefined) yield fromJson<StoredPacket>(toJson(rec.will));
          continue;
        }
        if (!self.liveness.isDead(rec.incarnation)) continue;
        if (rec.claimedBy !== undefined && rec.claimedBy !== me && !self.liveness.isDead(rec.claimedBy)) continue;
        let claimed = revision;
        if (rec.claimedBy !== me) {
          try {
            claimed = await self.wills.putIf(key, encodeRecord({ ...rec, claimedBy: me } satisfies WillRecord), revision);
          } catch (err) {
            if (err instanceof KvWriteConflictError) continue;
            self.opts.log.warn({ err }, 'could not claim the will of a dead replica; another replica may');
            continue;
          }
          self.stats.willsClaimed++;
        }
        const will = fromJson<StoredPacket>(toJson(rec.will));
        self.#claims.set(ofKey(key), claimed);
        // aedes skips wills of brokers it believes alive, itself included: a pod restarted under the
        // same name must still publish its previous incarnation's wills.
        if (will.brokerId === self.#broker?.id) delete will.brokerId;
        yield will;
      }
    }
    return Readable.from(due());
  }

  // --- lifecycle ---

  destroy(): Promise<void> {
    return this.stop();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // A closing aedes deletes the wills it just published without waiting: let those land first.
      await new Promise((r) => setImmediate(r));
      if (this.#inflight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((r) => (this.#idle = r)), new Promise((r) => (timer = setTimeout(r, this.opts.timeoutMs)))]);
        clearTimeout(timer);
      }
      await this.liveness.stop();
      await this.outgoing.stop();
      await Promise.all([this.retained.stop(), this.subs.stop(), this.wills.stop()]);
    })();
    return this.#stopping;
  }
}

/**
 * Opens (creating when missing) every bucket and stream and loads the current state into memory.
 * Heartbeats start when aedes calls `setup`.
 */
export async function createNatsPersistence(options: NatsPersistenceOptions): Promise<NatsPersistence> {
  const opts = { ...options, timeoutMs: options.timeoutMs ?? 5000 };
  const names = sessionStoreNames(opts.prefix);
  const replicas = opts.replicas ?? 1;
  const limits: QueueLimits = {
    queueMaxMessages: opts.limits?.queueMaxMessages ?? DEFAULT_QUEUE_MAX_MESSAGES,
    queueMaxBytes: opts.limits?.queueMaxBytes ?? DEFAULT_QUEUE_MAX_BYTES,
    queueExpiryMs: opts.limits?.queueExpiryMs ?? DEFAULT_QUEUE_EXPIRY_MS,
  };
  if (!(limits.queueMaxMessages >= 1 && limits.queueMaxBytes >= 1 && limits.queueExpiryMs >= 1)) throw new Error(`queue limits must be positive: ${JSON.stringify(limits)}`);
  const { nc, log, timeoutMs } = opts;
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const memory = new MemoryPersistence();
  const stopOnFailure: (() => Promise<void>)[] = [];

  try {
    const retainedKv = await openKv(nc, names.retainedBucket, { replicas, timeout: timeoutMs });
    const retained = await KvMirror.open<StoredPacket>({
      nc, kv: retainedKv, bucket: names.retainedBucket, log, what: 'retained-message', timeoutMs, onEnded: (err) => opts.onWatchEnded?.('retained-message', err),
      decode: (key, value) => decodeRetained(ofKey(key), value),
      onChange: async (key, _prev, next) => {
        await memory.storeRetained(next ?? { cmd: 'publish', topic: ofKey(key), payload: Buffer.alloc(0), qos: 0, retain: true });
      },
    });
    stopOnFailure.push(() => retained.stop());

    const subsKv = await openKv(nc, names.subscriptionsBucket, { replicas, timeout: timeoutMs });
    const subs = await KvMirror.open<Subscriptions>({
      nc, kv: subsKv, bucket: names.subscriptionsBucket, log, what: 'subscription', timeoutMs, onEnded: (err) => opts.onWatchEnded?.('subscription', err),
      decode: (_key, value) => decodeRecord<Subscriptions>(value),
      onChange: async (key, prev, next) => {
        const client = { id: ofKey(key) };
        if (next === undefined) {
          if (prev !== undefined) await memory.cleanSubscriptions(client);
          return;
        }
        const removed = Object.keys(prev ?? {}).filter((t) => !(t in next));
        if (removed.length > 0) await memory.removeSubscriptions(client, removed);
        const changed = Object.entries(next).filter(([t, r]) => !sameRecord(prev?.[t], r)).map(([t, r]) => subscriptionOf(t, r));
        if (changed.length > 0) await memory.addSubscriptions(client, changed);
      },
    });
    stopOnFailure.push(() => subs.stop());

    const willsKv = await openKv(nc, names.willsBucket, { replicas, timeout: timeoutMs });
    const wills = await KvMirror.open<WillRecord>({
      nc, kv: willsKv, bucket: names.willsBucket, log, what: 'will', timeoutMs, onEnded: (err) => opts.onWatchEnded?.('will', err),
      decode: (_key, value) => decodeRecord<WillRecord>(value),
    });
    stopOnFailure.push(() => wills.stop());

    const liveness = await ReplicaLiveness.open({
      nc, bucket: names.replicasBucket, replicas, replicaId: opts.replicaId, log, timeoutMs,
      ...(opts.onWatchEnded ? { onEnded: opts.onWatchEnded } : {}),
      intervalMs: opts.livenessIntervalMs ?? DEFAULT_LIVENESS_INTERVAL_MS,
      deadAfterMs: opts.deadAfterMs ?? DEFAULT_DEAD_AFTER_MS,
    });
    stopOnFailure.push(() => liveness.stop());

    await ensureStream(jsm, {
      name: names.inStream,
      subjects: [`${names.inSubject}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 1,
      // An exchange abandoned for longer than a queued message may wait is not resumed.
      max_age: nanos(limits.queueExpiryMs + QUEUE_MAX_AGE_MARGIN_MS),
      num_replicas: replicas,
    });

    const outgoing = await OutgoingQueues.open({
      nc, stream: names.outStream, subject: names.outSubject, replicas, limits, log, timeoutMs,
      streamMaxBytes: opts.queueStreamMaxBytes ?? -1,
      ...(opts.onDropped ? { onDropped: opts.onDropped } : {}),
    });
    outgoing.startSweeper(Math.min(60_000, Math.max(200, Math.floor(limits.queueExpiryMs / 10))));
    stopOnFailure.push(() => outgoing.stop());

    const stats = outgoing.stats as NatsPersistenceStats;
    stats.willsClaimed = 0;
    stats.willRounds = 0;
    const persistence = new AedesNatsPersistence(opts, names, memory, retained, subs, wills, liveness, outgoing, jsm, js, stats);
    return {
      persistence,
      names,
      stats,
      async sync() {
        await Promise.all([retained.sync(), subs.sync(), wills.sync()]);
      },
      stop: () => persistence.stop(),
      [Symbol.asyncDispose]: () => persistence.stop(),
    };
  } catch (err) {
    for (const stop of stopOnFailure.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}
