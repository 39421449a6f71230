// Outgoing QoS 1/2 queues of persistent sessions in one JetStream stream, one subject per session.
//
//   <out>.<client>.m        a queued PUBLISH (payload as body, other fields in a header), in stream order
//   <out>.<client>.s<seq>   delivery state of queued message <seq>: the messageId it was sent with, or
//                           that it reached PUBREL; one message per subject (rollup), written by the
//                           replica where the client is connected
//
// aedes enqueues on the publishing replica (enqueueOffline) and awaits it before the live packet goes out
// on the mq; the replica where the subscriber is connected then records the messageId (outgoingUpdate) and
// deletes the message on PUBACK/PUBCOMP (outgoingClearMessageId). The live packet crosses replicas over core
// NATS and can reach the subscriber's replica before anything about the enqueue does; nothing here waits
// for a replication to catch up. The enqueuer holds the PubAck (the stream has the message) before the
// live packet exists, so the subscriber's replica finds it by reading the session's subject forward from
// the stream leader (STREAM.MSG.GET next_by_subj) whenever its own index lacks the packet. A packet not
// found by that read was never queued (refused by a bound): it is delivered live only, and the update
// resolves rather than failing the delivery.
//
// Bounds, all reported through onDropped and stats, never silent:
// - messages per session: max_msgs_per_subject with discard new per subject; the server refuses exactly
//   the newest packet of that session (QUEUE_FULL), other sessions of the same publish are unaffected;
// - bytes: the server refuses a packet larger than queueMaxBytes (max_msg_size, QUEUE_BYTES), and an
//   optional stream-wide byte cap (QUEUE_BYTES). JetStream 2.9 has no per-subject byte limit, so a
//   session's stored bytes are bounded by queueMaxMessages × queueMaxBytes, not by queueMaxBytes;
// - age: a sweeper deletes packets older than queueExpiryMs (EXPIRED); a reconnecting session never
//   receives them. The stream's max_age (expiry + 1 h) removes, unreported, only what no replica swept.
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { DiscardPolicy, RetentionPolicy, StorageType, headers as natsHeaders, nanos, type JetStreamClient, type JetStreamManager, type NatsConnection, type StoredMsg, type MsgRequest } from 'nats';
import type { ClusterLog } from '../nats-mq-emitter.js';
import { keyOf, ofKey, packetFromMessage, packetToMessage, encodeRecord, decodeRecord, type StoredPacket } from './codec.js';
import { ensureStream, isNoMessage, refusalOf } from './jetstream.js';
import { QUEUE_MAX_AGE_MARGIN_MS, type QueueLimits } from './names.js';

const require = createRequire(import.meta.url);
/** aedes-packet, as aedes-persistence re-exports it: the shape aedes expects back from a persistence. */
export const Packet = (require('aedes-persistence') as { Packet: new (original: object, broker?: unknown) => StoredPacket }).Packet;

export type DropReason = 'QUEUE_FULL' | 'QUEUE_BYTES' | 'EXPIRED';
export interface DroppedMessages {
  clientId: string;
  reason: DropReason;
  count: number;
}

export interface QueueStats {
  enqueued: number;
  dropped: Record<DropReason, number>;
  /** Enqueues that failed for another reason (NATS unavailable, timeout): logged, the publish goes on. */
  enqueueErrors: number;
  /** outgoingUpdate / PUBREL for a packet that is not queued (refused by a bound): delivered live only. */
  untrackedUpdates: number;
  /** Forward reads of a session's subject because the local index lacked a packet. */
  scans: number;
}

/** Delivery state of one queued packet. */
interface DeliveryState {
  messageId: number;
  cmd: 'publish' | 'pubrel';
  /** The connection (client object) it was last sent on: a later connection gets it with dup set. */
  sentBy?: string;
}

interface Entry {
  seq: number;
  /** When the stream stored it (ms). */
  time: number;
  packet: StoredPacket;
  state?: DeliveryState & { seq: number };
}

/** What this replica knows of one connection's queue; rebuilt on every outgoingStream. */
class SessionIndex {
  readonly entries = new Map<number, Entry>();
  scannedTo = 0;
  running: Promise<void> = Promise.resolve();
  queued: Promise<void> | undefined;
  /** The last update handed out: updates resolve in call order. */
  lastUpdate: Promise<unknown> = Promise.resolve();

  find(pred: (e: Entry) => boolean): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.entries.values()) if (pred(e) && (best === undefined || e.seq < best.seq)) best = e;
    return best;
  }

  ordered(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.seq - b.seq);
  }
}

interface ClientRef {
  id: string;
  clean?: boolean;
}

interface PacketRef {
  cmd?: string;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
}

export interface OutgoingQueuesOptions {
  nc: NatsConnection;
  stream: string;
  subject: string;
  replicas: number;
  limits: QueueLimits;
  /** Stream-wide byte cap over all sessions; -1 for none. */
  streamMaxBytes: number;
  log: ClusterLog;
  onDropped?: (d: DroppedMessages) => void;
  timeoutMs: number;
  now?: () => number;
}

/** Packets this replica enqueued recently, so a local subscriber's update needs no read; oldest evicted first. */
const RECENT_MAX_ENTRIES = 10_000;
const RECENT_MAX_BYTES = 8 * 1024 * 1024;

export class OutgoingQueues {
  readonly stats: QueueStats = { enqueued: 0, dropped: { QUEUE_FULL: 0, QUEUE_BYTES: 0, EXPIRED: 0 }, enqueueErrors: 0, untrackedUpdates: 0, scans: 0 };
  private readonly indexes = new WeakMap<object, SessionIndex>();
  private readonly tokens = new WeakMap<object, string>();
  private readonly recent = new Map<string, { seq: number; time: number; packet: StoredPacket; bytes: number }>();
  private recentBytes = 0;
  private readonly js: JetStreamClient;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private sweepFrom = 1;
  private readonly now: () => number;

  private constructor(private readonly opts: OutgoingQueuesOptions, private readonly jsm: JetStreamManager) {
    this.js = opts.nc.jetstream();
    this.now = opts.now ?? Date.now;
  }

  static async open(opts: OutgoingQueuesOptions): Promise<OutgoingQueues> {
    const jsm = await opts.nc.jetstreamManager();
    const { queueMaxMessages, queueMaxBytes, queueExpiryMs } = opts.limits;
    await ensureStream(
      jsm,
      {
        name: opts.stream,
        subjects: [`${opts.subject}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.New,
        discard_new_per_subject: true,
        max_msgs_per_subject: queueMaxMessages,
        max_msg_size: queueMaxBytes,
        max_bytes: opts.streamMaxBytes,
        max_age: nanos(queueExpiryMs + QUEUE_MAX_AGE_MARGIN_MS),
        allow_rollup_hdrs: true,
        num_replicas: opts.replicas,
      },
      ['max_msgs_per_subject', 'max_msg_size', 'max_bytes', 'max_age'],
    );
    return new OutgoingQueues(opts, jsm);
  }

  private queueSubject(clientId: string): string {
    return `${this.opts.subject}.${keyOf(clientId)}.m`;
  }

  private stateSubject(clientId: string, seq: number): string {
    return `${this.opts.subject}.${keyOf(clientId)}.s${seq}`;
  }

  private tokenOf(client: object): string {
    let t = this.tokens.get(client);
    if (t === undefined) this.tokens.set(client, (t = randomUUID()));
    return t;
  }

  private indexOf(client: object): SessionIndex {
    let idx = this.indexes.get(client);
    if (idx === undefined) this.indexes.set(client, (idx = new SessionIndex()));
    return idx;
  }

  private drop(clientId: string, reason: DropReason, count: number): void {
    if (count <= 0) return;
    this.stats.dropped[reason] += count;
    try {
      this.opts.onDropped?.({ clientId, reason, count });
    } catch (err) {
      this.opts.log.error({ err }, 'onDropped handler failed');
    }
  }

  /** Queue `packet` once per client among `subs`. Never rejects: a session that refuses it is reported. */
  async enqueue(subs: readonly { clientId: string }[], packet: object): Promise<void> {
    // aedes asks on every QoS 1/2 PUBLISH, usually for nobody: encode nothing then.
    if (subs.length === 0) return;
    const stored = new Packet(packet);
    const { headers, data } = packetToMessage(stored);
    const clientIds = new Set(subs.map((s) => s.clientId));
    await Promise.all(
      [...clientIds].map(async (clientId) => {
        try {
          const ack = await this.js.publish(this.queueSubject(clientId), data, { headers, timeout: this.opts.timeoutMs });
          this.stats.enqueued++;
          this.remember(clientId, stored, ack.seq, data.byteLength);
        } catch (err) {
          const reason = refusalOf(err);
          if (reason) this.drop(clientId, reason, 1);
          else {
            this.stats.enqueueErrors++;
            this.opts.log.warn({ err, clientIdLength: clientId.length }, 'QoS 1/2 packet not queued for a persistent session');
          }
        }
      }),
    );
  }

  private recentKey(clientId: string, brokerId: unknown, brokerCounter: unknown): string {
    return `${clientId}\u0000${String(brokerId)}\u0000${String(brokerCounter)}`;
  }

  private remember(clientId: string, packet: StoredPacket, seq: number, bytes: number): void {
    if (packet.brokerId === undefined) return;
    const key = this.recentKey(clientId, packet.brokerId, packet.brokerCounter);
    this.forget(key);
    this.recent.set(key, { seq, time: this.now(), packet, bytes });
    this.recentBytes += bytes;
    // Sessions connected elsewhere never take theirs: the bound keeps them from piling up.
    while (this.recent.size > RECENT_MAX_ENTRIES || this.recentBytes > RECENT_MAX_BYTES) this.forget(this.recent.keys().next().value!);
  }

  private forget(key: string): void {
    const r = this.recent.get(key);
    if (r === undefined) return;
    this.recent.delete(key);
    this.recentBytes -= r.bytes;
  }

  /** Read the session's subject forward from what `idx` has seen, in stream order. */
  private scan(clientId: string, idx: SessionIndex): Promise<void> {
    // A scan already under way may have passed the end before the packet we look for was stored: join
    // the next one, which starts after the current one ends.
    idx.queued ??= idx.running.then(() => {
      idx.queued = undefined;
      idx.running = this.readForward(clientId, idx);
      return idx.running;
    });
    return idx.queued;
  }

  private async readForward(clientId: string, idx: SessionIndex): Promise<void> {
    this.stats.scans++;
    const filter = `${this.opts.subject}.${keyOf(clientId)}.*`;
    for (;;) {
      let m: StoredMsg;
      try {
        m = await this.jsm.streams.getMessage(this.opts.stream, { seq: idx.scannedTo + 1, next_by_subj: filter } as unknown as MsgRequest);
      } catch (err) {
        if (isNoMessage(err)) return;
        throw err;
      }
      this.absorb(idx, m);
      idx.scannedTo = m.seq;
    }
  }

  private absorb(idx: SessionIndex, m: StoredMsg): void {
    const kind = m.subject.slice(m.subject.lastIndexOf('.') + 1);
    if (kind === 'm') {
      if (!idx.entries.has(m.seq)) idx.entries.set(m.seq, { seq: m.seq, time: m.time.getTime(), packet: packetFromMessage(m.header, m.data) });
      return;
    }
    const of = Number(kind.slice(1));
    const target = idx.entries.get(of);
    // State of a packet already cleared or expired: nothing to attach it to.
    if (target === undefined) return;
    if (target.state === undefined || target.state.seq < m.seq) target.state = { ...decodeRecord<DeliveryState>(m.data), seq: m.seq };
  }

  private async find(client: ClientRef, idx: SessionIndex, pred: (e: Entry) => boolean, packet?: PacketRef): Promise<Entry | undefined> {
    let e = idx.find(pred);
    if (e) return e;
    if (packet?.brokerId !== undefined) {
      const key = this.recentKey(client.id, packet.brokerId, packet.brokerCounter);
      const r = this.recent.get(key);
      if (r) {
        this.forget(key);
        e = { seq: r.seq, time: r.time, packet: r.packet };
        idx.entries.set(r.seq, e);
        return e;
      }
    }
    await this.scan(client.id, idx);
    return idx.find(pred);
  }

  private async writeState(client: ClientRef, e: Entry, state: DeliveryState): Promise<void> {
    const h = natsHeaders();
    // One state message per queued packet: the new one replaces the previous.
    h.set('Nats-Rollup', 'sub');
    const ack = await this.js.publish(this.stateSubject(client.id, e.seq), encodeRecord(state), { headers: h, timeout: this.opts.timeoutMs });
    e.state = { ...state, seq: ack.seq };
  }

  /**
   * outgoingUpdate: a messageId assigned to a queued PUBLISH, or a PUBLISH that reached PUBREL.
   * aedes writes each packet when its update resolves: updates of one connection run concurrently but
   * resolve in the order they were called, or a packet that needed a read would be overtaken by the next
   * ([MQTT-4.6.0-6] ordered topics).
   */
  update(client: ClientRef, packet: PacketRef): Promise<void> {
    const idx = this.indexOf(client);
    const work = this.updateNow(client, idx, packet);
    const inOrder = idx.lastUpdate.then(() => work);
    idx.lastUpdate = inOrder.catch(() => undefined);
    return inOrder;
  }

  private async updateNow(client: ClientRef, idx: SessionIndex, packet: PacketRef): Promise<void> {
    const messageId = packet.messageId;
    if (messageId === undefined) return;
    if (packet.cmd === 'pubrel') {
      const e = await this.find(client, idx, (x) => x.state?.messageId === messageId);
      if (e === undefined) {
        this.stats.untrackedUpdates++;
        return;
      }
      if (e.state?.cmd !== 'pubrel') await this.writeState(client, e, { messageId, cmd: 'pubrel', sentBy: this.tokenOf(client) });
      return;
    }
    const match =
      packet.brokerId !== undefined
        ? (x: Entry) => x.packet.brokerId === packet.brokerId && x.packet.brokerCounter === packet.brokerCounter
        : (x: Entry) => x.state?.messageId === messageId;
    const e = await this.find(client, idx, match, packet);
    if (e === undefined) {
      this.stats.untrackedUpdates++;
      return;
    }
    if (e.state?.messageId === messageId && e.state.cmd === 'publish') return;
    await this.writeState(client, e, { messageId, cmd: 'publish', sentBy: this.tokenOf(client) });
  }

  /** outgoingClearMessageId: PUBACK or PUBCOMP. Resolves with the packet as queued, or undefined. */
  async clear(client: ClientRef, packet: PacketRef | number | undefined): Promise<StoredPacket | undefined> {
    const messageId = typeof packet === 'object' && packet !== null ? packet.messageId : undefined;
    // aedes calls this on every PUBACK, also of clean sessions, which never have a queue: no read for those.
    if (messageId === undefined || client.clean === true) return undefined;
    const idx = this.indexOf(client);
    const e = await this.find(client, idx, (x) => x.state?.messageId === messageId);
    if (e === undefined) return undefined;
    idx.entries.delete(e.seq);
    await Promise.all([this.deleteMsg(e.seq), e.state ? this.deleteMsg(e.state.seq) : Promise.resolve(true)]);
    return this.materialize(client, e);
  }

  /** Deletes one message; false if it was already gone. A failure is logged: the packet is then redelivered. */
  private async deleteMsg(seq: number): Promise<boolean> {
    try {
      return await this.jsm.streams.deleteMessage(this.opts.stream, seq, false);
    } catch (err) {
      if (!isNoMessage(err)) this.opts.log.warn({ err, seq }, 'acknowledged packet not removed from its queue; it will be sent again');
      return false;
    }
  }

  private materialize(client: object, e: Entry): StoredPacket {
    if (e.state?.cmd === 'pubrel') return { cmd: 'pubrel', messageId: e.state.messageId };
    const p = new Packet(e.packet);
    if (e.state) {
      p.messageId = e.state.messageId;
      // [MQTT-4.4.0-1] re-sent on a new connection with its original Packet Identifier and DUP set.
      if (e.state.sentBy !== this.tokenOf(client)) p.dup = true;
    }
    return p;
  }

  /** outgoingStream: the session's queue, in order, as of now; expired packets are dropped and reported. */
  stream(client: ClientRef): Readable {
    const self = this;
    async function* queued() {
      // A clean session has no queue (cleanSubscriptions discarded it): no read on every clean CONNECT.
      if (client.clean === true) return;
      const idx = new SessionIndex();
      self.indexes.set(client, idx);
      await self.scan(client.id, idx);
      const cutoff = self.now() - self.opts.limits.queueExpiryMs;
      const live: Entry[] = [];
      const expired: Entry[] = [];
      for (const e of idx.ordered()) (e.time < cutoff ? expired : live).push(e);
      if (expired.length > 0) {
        for (const e of expired) idx.entries.delete(e.seq);
        const removed = await Promise.all(expired.map(async (e) => {
          if (e.state) await self.deleteMsg(e.state.seq);
          return self.deleteMsg(e.seq);
        }));
        // Only the replica whose delete succeeded reports it: the sweeper may have been first.
        self.drop(client.id, 'EXPIRED', removed.filter(Boolean).length);
      }
      for (const e of live) yield self.materialize(client, e);
    }
    return Readable.from(queued());
  }

  /** A clean start discards the session's queue ([MQTT-3.1.2-6]). */
  async discard(clientId: string): Promise<void> {
    await this.jsm.streams.purge(this.opts.stream, { filter: `${this.opts.subject}.${keyOf(clientId)}.*` });
  }

  /** Delete expired packets of every session, oldest first; reports them per session. */
  startSweeper(intervalMs: number): void {
    this.sweeper = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: unknown) => this.opts.log.warn({ err }, 'queue expiry sweep failed'))
        .finally(() => (this.sweeping = undefined));
    }, intervalMs);
    this.sweeper.unref();
  }

  async sweep(): Promise<void> {
    const cutoff = this.now() - this.opts.limits.queueExpiryMs;
    const dropped = new Map<string, number>();
    const prefix = `${this.opts.subject}.`;
    try {
      for (;;) {
        let m: StoredMsg;
        try {
          m = await this.jsm.streams.getMessage(this.opts.stream, { seq: this.sweepFrom, next_by_subj: `${this.opts.subject}.*.m` } as unknown as MsgRequest);
        } catch (err) {
          if (isNoMessage(err)) return;
          throw err;
        }
        // Stream order is storage order: the first young packet ends the sweep.
        if (m.time.getTime() >= cutoff) {
          this.sweepFrom = m.seq;
          return;
        }
        const key = m.subject.slice(prefix.length, -2);
        if (await this.deleteMsg(m.seq)) {
          const clientId = ofKey(key);
          dropped.set(clientId, (dropped.get(clientId) ?? 0) + 1);
          await this.jsm.streams.purge(this.opts.stream, { filter: `${prefix}${key}.s${m.seq}` }).catch(() => undefined);
        }
        this.sweepFrom = m.seq + 1;
      }
    } finally {
      for (const [clientId, count] of dropped) this.drop(clientId, 'EXPIRED', count);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await this.sweeping;
  }
}
