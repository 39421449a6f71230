// Which replica incarnations are alive, decided the same way on every replica: each running persistence
// puts a heartbeat in a KV bucket every `intervalMs`; one that no replica has heard from for `deadAfterMs`
// (measured on the observer's own clock, so clock skew between hosts does not matter) is dead.
//
// aedes' own liveness (`$SYS/<id>/heartbeat`) does not cross replicas (the mq keeps $SYS local), and a pod
// restarted under the same name reuses its broker id: liveness is therefore per incarnation (a random id
// per process), and wills are owned by incarnations, not by broker ids.
import { randomUUID } from 'node:crypto';
import type { KV, NatsConnection } from 'nats';
import type { ClusterLog } from '../nats-mq-emitter.js';
import { encodeRecord, decodeRecord } from './codec.js';
import { KvMirror } from './kv-mirror.js';
import { openKv } from './jetstream.js';

interface Heartbeat {
  brokerId: string;
  replicaId: string;
}

export interface LivenessOptions {
  nc: NatsConnection;
  bucket: string;
  replicas: number;
  replicaId: string;
  log: ClusterLog;
  intervalMs: number;
  deadAfterMs: number;
  timeoutMs: number;
  now?: () => number;
  onEnded?: (what: string, err?: Error) => void;
}

export class ReplicaLiveness {
  /** This process: the owner of the wills it stores. */
  readonly incarnation = randomUUID();
  private readonly lastSeen = new Map<string, number>();
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private brokerId = '';
  private stopped: Promise<void> | undefined;
  private readonly now: () => number;

  private constructor(private readonly opts: LivenessOptions, private readonly kv: KV, private mirror: KvMirror<Heartbeat> | undefined) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
  }

  static async open(opts: LivenessOptions): Promise<ReplicaLiveness> {
    // Keys of incarnations gone for an hour are removed by the server.
    const kv = await openKv(opts.nc, opts.bucket, { replicas: opts.replicas, ttl: Math.max(3_600_000, 10 * opts.deadAfterMs), timeout: opts.timeoutMs });
    const l = new ReplicaLiveness(opts, kv, undefined);
    l.mirror = await KvMirror.open<Heartbeat>({
      nc: opts.nc,
      kv,
      bucket: opts.bucket,
      log: opts.log,
      what: 'replica heartbeat',
      timeoutMs: opts.timeoutMs,
      ...(opts.onEnded ? { onEnded: (err?: Error) => opts.onEnded!('replica heartbeat', err) } : {}),
      decode: (_k, v) => decodeRecord<Heartbeat>(v),
      onChange: (key, _prev, next) => {
        // A deleted key is a replica that stopped cleanly: dead at once.
        l.lastSeen.set(key, next ? l.now() : Number.NEGATIVE_INFINITY);
        l.forgetLongDead();
      },
    });
    return l;
  }

  /** Start beating under aedes' broker id; resolves once this replica sees its own first heartbeat. */
  async start(brokerId: string): Promise<void> {
    this.brokerId = brokerId;
    await this.beat();
    this.timer = setInterval(() => {
      this.beat().catch((err: unknown) => this.opts.log.warn({ err }, 'replica heartbeat not stored'));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    await this.mirror!.put(this.incarnation, encodeRecord({ brokerId: this.brokerId, replicaId: this.opts.replicaId } satisfies Heartbeat));
  }

  /**
   * This replica may judge others only while it hears its own heartbeat: cut off from NATS, it would
   * otherwise take every other replica for dead.
   */
  get healthy(): boolean {
    const self = this.lastSeen.get(this.incarnation);
    return self !== undefined && this.now() - self <= this.opts.deadAfterMs / 2;
  }

  /** True once `incarnation` has not been heard from for deadAfterMs (counted from our start if never heard). */
  isDead(incarnation: string): boolean {
    if (incarnation === this.incarnation || !this.healthy) return false;
    const seen = this.lastSeen.get(incarnation) ?? this.startedAt;
    return this.now() - seen > this.opts.deadAfterMs;
  }

  /** Incarnations silent for an hour are forgotten (their keys expire too): one entry per process start otherwise. */
  private forgetLongDead(): void {
    if (this.lastSeen.size < 1000) return;
    const cutoff = this.now() - Math.max(3_600_000, 10 * this.opts.deadAfterMs);
    for (const [k, seen] of this.lastSeen) if (seen < cutoff) this.lastSeen.delete(k);
  }

  /** Stop beating and remove our key: the other replicas take over our wills at once. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.timer);
      if (this.brokerId !== '') {
        try {
          await this.kv.delete(this.incarnation);
        } catch (err) {
          this.opts.log.warn({ err }, 'could not remove this replica heartbeat; others declare it dead after the bound');
        }
      }
      await this.mirror!.stop();
    })();
    return this.stopped;
  }
}
