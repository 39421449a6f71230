// A JetStream KV bucket followed into this replica's memory, in the bucket's order. Writes return the
// revision they got, and `appliedUpTo(revision)` resolves once memory holds it: a replica's own write is
// visible locally before its caller continues, and every replica converges on the same state.
import { headers as natsHeaders, type KV, type KvEntry, type NatsConnection, type QueuedIterator, type JetStreamClient } from 'nats';
import type { ClusterLog } from '../nats-mq-emitter.js';
import { isWrongLastSequence } from './jetstream.js';
import { StallWatch } from '../../nats/stall-watch.js';

export interface Mirrored<T> {
  value: T;
  revision: number;
}

export interface KvMirrorOptions<T> {
  nc: NatsConnection;
  kv: KV;
  bucket: string;
  log: ClusterLog;
  /** What this bucket holds, for log lines. */
  what: string;
  decode(key: string, value: Uint8Array): T;
  /** Called in bucket order for every change; `next` undefined for a deletion. */
  onChange?(key: string, prev: T | undefined, next: T | undefined): void | Promise<void>;
  /** The watch ended without stop(): this replica no longer follows the bucket (readiness should drop). */
  onEnded?(err?: Error): void;
  timeoutMs: number;
  /** How often the mirror compares itself with the bucket, and how long behind without progress means stuck (tests). */
  lagCheckMs?: number;
  stuckAfterMs?: number;
}


export class KvWriteConflictError extends Error {
  override name = 'KvWriteConflictError';
  constructor(readonly bucket: string, readonly key: string, options?: { cause?: unknown }) {
    super(`${bucket}: ${key} changed concurrently`, options);
  }
}

export class KvMirror<T> {
  private readonly values = new Map<string, Mirrored<T>>();
  /** Revision of the last operation per key, deletions included: the expected revision of the next write. */
  private readonly lastOp = new Map<string, number>();
  private applied = 0;
  private readonly waiters: { revision: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly js: JetStreamClient;
  private stopping = false;
  private watch!: QueuedIterator<KvEntry>;
  private following!: Promise<void>;

  private constructor(private readonly opts: KvMirrorOptions<T>) {
    this.js = opts.nc.jetstream();
  }

  static async open<T>(opts: KvMirrorOptions<T>): Promise<KvMirror<T>> {
    const m = new KvMirror(opts);
    await m.start();
    return m;
  }

  private restarting = false;
  private stall?: StallWatch;
  /** Watches started again because the mirror was behind without progress. */
  get stuckRestarts(): number {
    return this.stall?.stalls ?? 0;
  }

  private async start(): Promise<void> {
    let initialized!: () => void;
    const ready = new Promise<void>((resolve) => (initialized = resolve));
    await this.follow({ initializedFn: () => initialized() });
    // An empty bucket reports initialization at once; otherwise after the last current value.
    await ready;
    // A watch can stop delivering without ending (stall-watch.ts): watch again from the next revision.
    this.stall = new StallWatch({
      last: async () => ((await this.opts.kv.status()) as unknown as { streamInfo: { state: { last_seq: number } } }).streamInfo.state.last_seq,
      applied: () => this.applied,
      paused: () => this.stopping || this.restarting,
      onStuck: async (info) => {
        this.opts.log.warn({ bucket: this.opts.bucket, applied: info.applied, lastRevision: info.last }, `${this.opts.what} watch behind the bucket without progress: watching again from the next revision`);
        this.restarting = true;
        try {
          this.watch.stop();
          await this.following;
          if (!this.stopping) await this.follow({ resumeFromRevision: this.applied + 1 });
        } finally {
          this.restarting = false;
        }
      },
      ...(this.opts.lagCheckMs ? { everyMs: this.opts.lagCheckMs } : {}),
      ...(this.opts.stuckAfterMs ? { stuckAfterMs: this.opts.stuckAfterMs } : {}),
    });
    this.stall.start();
  }

  private async follow(opts: Parameters<KV['watch']>[0]): Promise<void> {
    this.watch = await this.opts.kv.watch(opts);
    this.following = (async () => {
      for await (const e of this.watch) {
        if (e.revision <= this.applied) continue; // a restarted watch may repeat the last one
        await this.apply(e);
        this.applied = Math.max(this.applied, e.revision);
        this.release();
      }
    })()
      .then(
        () => {
          if (this.stopping || this.restarting) return;
          this.opts.log.error({ bucket: this.opts.bucket }, `${this.opts.what} watch ended; this replica no longer follows it`);
          this.opts.onEnded?.();
        },
        (err: unknown) => {
          this.opts.log.error({ err, bucket: this.opts.bucket }, `${this.opts.what} watch failed; this replica no longer follows it`);
          this.opts.onEnded?.(err instanceof Error ? err : new Error(String(err)));
        },
      )
      .finally(() => {
        if (this.restarting) return; // waiters are answered by the next watch
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.opts.what} watch stopped`));
      });
  }

  private async apply(e: KvEntry): Promise<void> {
    const prev = this.values.get(e.key)?.value;
    this.lastOp.set(e.key, e.revision);
    let next: T | undefined;
    if (e.operation === 'PUT') {
      try {
        next = this.opts.decode(e.key, e.value);
      } catch (err) {
        this.opts.log.warn({ err, bucket: this.opts.bucket, revision: e.revision }, `ignored an invalid ${this.opts.what} entry`);
        return;
      }
      this.values.set(e.key, { value: next, revision: e.revision });
    } else {
      this.values.delete(e.key);
    }
    try {
      await this.opts.onChange?.(e.key, prev, next);
    } catch (err) {
      this.opts.log.error({ err, bucket: this.opts.bucket, revision: e.revision }, `could not apply a ${this.opts.what} change`);
    }
  }

  private release(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.revision <= this.applied) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  get(key: string): Mirrored<T> | undefined {
    return this.values.get(key);
  }

  entries(): IterableIterator<[string, Mirrored<T>]> {
    return this.values.entries();
  }

  get size(): number {
    return this.values.size;
  }

  /** Resolves once memory holds `revision` (or fails after timeoutMs). */
  appliedUpTo(revision: number): Promise<void> {
    if (revision <= this.applied) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      new Promise<void>((resolve, reject) => this.waiters.push({ revision, resolve, reject })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${this.opts.what} watch did not reach revision ${revision} in ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Resolves once memory holds everything the bucket held when called. */
  async sync(): Promise<void> {
    const status = await this.opts.kv.status();
    await this.appliedUpTo((status as unknown as { streamInfo: { state: { last_seq: number } } }).streamInfo.state.last_seq);
  }

  private subject(key: string): string {
    return `$KV.${this.opts.bucket}.${key}`;
  }

  /** Unconditional put; resolves once applied locally. */
  async put(key: string, data: Uint8Array): Promise<number> {
    const ack = await this.js.publish(this.subject(key), data, { timeout: this.opts.timeoutMs });
    await this.appliedUpTo(ack.seq);
    return ack.seq;
  }

  /**
   * Put only if the key's last operation is still `expected` (what this replica last saw; 0 = never
   * written). Throws KvWriteConflictError otherwise. Resolves once applied locally.
   */
  async putIf(key: string, data: Uint8Array, expected = this.lastOp.get(key) ?? 0): Promise<number> {
    try {
      const ack = await this.js.publish(this.subject(key), data, { timeout: this.opts.timeoutMs, expect: { lastSubjectSequence: expected } });
      await this.appliedUpTo(ack.seq);
      return ack.seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw new KvWriteConflictError(this.opts.bucket, this.key(key), { cause: err });
      throw err;
    }
  }

  /** Delete, optionally only if the key's last operation is still `expected`. Resolves once applied locally. */
  async delete(key: string, expected?: number): Promise<number> {
    const h = natsHeaders();
    h.set('KV-Operation', 'DEL');
    try {
      const ack = await this.js.publish(this.subject(key), new Uint8Array(0), {
        headers: h,
        timeout: this.opts.timeoutMs,
        ...(expected !== undefined ? { expect: { lastSubjectSequence: expected } } : {}),
      });
      await this.appliedUpTo(ack.seq);
      return ack.seq;
    } catch (err) {
      if (isWrongLastSequence(err)) throw new KvWriteConflictError(this.opts.bucket, this.key(key), { cause: err });
      throw err;
    }
  }

  /** Keys are base64url of client ids: logged by length only. */
  private key(key: string): string {
    return `<key of ${key.length} chars>`;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stall?.stop();
    this.watch.stop();
    await this.following;
  }
}
