// A JetStream KV bucket followed into this replica's memory, in the bucket's order. Writes return the
// revision they got, and `appliedUpTo(revision)` resolves once memory holds it: a replica's own write is
// visible locally before its caller continues, and every replica converges on the same state.
import {
  headers as natsHeaders,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type KvEntry,
  type MsgRequest,
  type NatsConnection,
  type QueuedIterator,
  type StoredMsg,
} from 'nats';
import type { ClusterLog } from '../nats-mq-emitter.js';
import { isNoMessage, isWrongLastSequence } from './jetstream.js';
import { StallWatch } from '../../nats/stall-watch.js';

/**
 * A watch is a JetStream ordered consumer: ephemeral, one replica, placed by the meta leader on a
 * random peer of the bucket's stream. nats-server 2.9.10 picks among all peers, a dead one included
 * (`createGroupForConsumer`; from 2.9.12 it skips peers it knows offline):
 * after a node loss the consumer of a mirror that lived there is gone, and a third of new watches on
 * an R3 bucket never answer. While it watches again the mirror therefore reads what it missed from
 * the stream itself (its leader answers), and tries a new watch every WATCH_ATTEMPT_EVERY_MS, each
 * attempt left running to its own timeout: the first one that opens is used, any later one stopped.
 */
const WATCH_ATTEMPT_EVERY_MS = 1_000;
/**
 * Bound on the stream info and reads of the stall check and the catch-up. A request sent while the
 * stream had no leader is never answered: waiting out the 5 s API timeout delayed noticing a silent
 * watch by as much once the new leader answered.
 */
const READ_TIMEOUT_MS = 2_000;
/** Entries read directly in one round before trying a watch again (a watch streams a long backlog faster). */
const READ_PER_ROUND = 1_000;
/** Behind the bucket without a watch for this long, the mirror ends: fail closed (readiness drops). */
export const RESUME_GIVE_UP_MS = 30_000;

/** What the mirror applies: a watched entry, or a message read from the stream. */
type Change = Pick<KvEntry, 'key' | 'operation' | 'value' | 'revision'>;

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
  /** How long a stuck mirror tries to watch again before it ends (default RESUME_GIVE_UP_MS; tests). */
  resumeGiveUpMs?: number;
}


export class KvWriteConflictError extends Error {
  override name = 'KvWriteConflictError';
  constructor(readonly bucket: string, readonly key: string, options?: { cause?: unknown }) {
    super(`${bucket}: ${key} changed concurrently`, options);
  }
}

export class KvMirrorStalledError extends Error {
  override name = 'KvMirrorStalledError';
  constructor(readonly bucket: string, readonly applied: number, readonly forMs: number, options?: { cause?: unknown }) {
    super(`${bucket}: no new watch could be opened after revision ${applied} in ${forMs} ms`, options);
  }
}

export class KvMirror<T> {
  private readonly values = new Map<string, Mirrored<T>>();
  /** Revision of the last operation per key, deletions included: the expected revision of the next write. */
  private readonly lastOp = new Map<string, number>();
  private applied = 0;
  private readonly waiters: { revision: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly js: JetStreamClient;
  private jsm!: JetStreamManager;
  private stopping = false;
  /** Set once the mirror gave up following (fail closed): every wait fails with it. */
  private failed?: Error;
  private watch!: QueuedIterator<KvEntry>;
  private following!: Promise<void>;
  private resuming?: Promise<void>;
  /** Ends the wait between two rounds of reopen(). */
  private wakeResume?: () => void;

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
  private readCount = 0;
  /** Entries applied from reads of the stream while no watch delivered. */
  get readEntries(): number {
    return this.readCount;
  }

  private get stream(): string {
    return `KV_${this.opts.bucket}`;
  }

  private async start(): Promise<void> {
    this.jsm = await this.opts.nc.jetstreamManager({ timeout: Math.min(READ_TIMEOUT_MS, this.opts.timeoutMs), checkAPI: false });
    let initialized!: () => void;
    const ready = new Promise<void>((resolve) => (initialized = resolve));
    this.follow(await this.opts.kv.watch({ initializedFn: () => initialized() }));
    // An empty bucket reports initialization at once; otherwise after the last current value.
    await ready;
    // A watch can stop delivering without ending (stall-watch.ts): catch up and watch again from the next revision.
    this.stall = new StallWatch({
      last: () => this.lastRevision(),
      applied: () => this.applied,
      paused: () => this.stopping || this.restarting || !!this.failed,
      onStuck: (info) => {
        this.opts.log.warn({ bucket: this.opts.bucket, applied: info.applied, lastRevision: info.last }, `${this.opts.what} watch behind the bucket without progress: watching again from the next revision`);
        this.resuming = this.resume();
        return this.resuming;
      },
      ...(this.opts.lagCheckMs ? { everyMs: this.opts.lagCheckMs } : {}),
      ...(this.opts.stuckAfterMs ? { stuckAfterMs: this.opts.stuckAfterMs } : {}),
    });
    this.stall.start();
  }

  private async lastRevision(): Promise<number> {
    return (await this.jsm.streams.info(this.stream)).state.last_seq;
  }

  /** Stop the silent watch, catch up from the stream, and follow the first new watch that opens (see WATCH_ATTEMPT_EVERY_MS). */
  private async resume(): Promise<void> {
    this.restarting = true;
    try {
      this.watch.stop();
      await this.following;
      const watch = await this.reopen();
      if (watch) this.follow(watch);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.restarting = false;
    }
  }

  /** A new watch after what is applied, reading missed entries from the stream until one opens; undefined when stopped. */
  private async reopen(): Promise<QueuedIterator<KvEntry> | undefined> {
    const since = Date.now();
    const giveUpMs = this.opts.resumeGiveUpMs ?? RESUME_GIVE_UP_MS;
    const opened: QueuedIterator<KvEntry>[] = [];
    let done = false;
    let lastErr: unknown;
    let attempts = 0;
    const attempt = (): void => {
      const n = ++attempts;
      const from = this.applied + 1;
      this.opts.kv.watch({ resumeFromRevision: from }).then(
        (w) => {
          if (done) return w.stop();
          opened.push(w);
          this.wakeResume?.();
        },
        (err: unknown) => {
          lastErr = err;
          if (done) return;
          this.opts.log.warn({ err, bucket: this.opts.bucket, attempt: n, fromRevision: from }, `${this.opts.what} watch could not be opened again; reading the stream meanwhile`);
        },
      );
    };
    try {
      while (!this.stopping) {
        try {
          await this.readMissed();
        } catch (err) {
          lastErr = err;
        }
        // A watch opened from an earlier revision repeats what was read since: the loop in follow() skips it.
        const watch = opened.shift();
        if (watch) {
          if (attempts > 1) this.opts.log.info({ bucket: this.opts.bucket, attempts, applied: this.applied }, `${this.opts.what} watching again`);
          return watch;
        }
        if (Date.now() - since >= giveUpMs) throw new KvMirrorStalledError(this.opts.bucket, this.applied, Date.now() - since, { cause: lastErr });
        attempt();
        // The next round comes when a watch opens (or stop() is called), else after WATCH_ATTEMPT_EVERY_MS.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, WATCH_ATTEMPT_EVERY_MS);
          this.wakeResume = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wakeResume = undefined;
      }
      return undefined;
    } finally {
      done = true;
      for (const w of opened.splice(0)) w.stop();
    }
  }

  /**
   * Apply, in order, what the stream holds after `applied` (at most READ_PER_ROUND entries). The stream
   * leader answers (STREAM.MSG.GET, next message at or after a sequence on the bucket's subjects), so no
   * consumer is needed; sequences it no longer holds (superseded, expired) are skipped as a watch would.
   */
  private async readMissed(): Promise<void> {
    const last = await this.lastRevision();
    for (let n = 0; n < READ_PER_ROUND && this.applied < last && !this.stopping; n++) {
      let m: StoredMsg;
      try {
        // nats-server 2.9 takes `next_by_subj` with `seq`; the nats.js type lists it for direct gets only.
        m = await this.jsm.streams.getMessage(this.stream, { seq: this.applied + 1, next_by_subj: `$KV.${this.opts.bucket}.>` } as unknown as MsgRequest);
      } catch (err) {
        if (!isNoMessage(err)) throw err;
        this.applied = Math.max(this.applied, last);
        this.release();
        return;
      }
      const prefix = `$KV.${this.opts.bucket}.`;
      const op = m.header?.get('KV-Operation');
      await this.apply({ key: m.subject.slice(prefix.length), operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT', value: m.data, revision: m.seq });
      this.applied = Math.max(this.applied, m.seq);
      this.readCount += 1;
      this.release();
    }
  }

  /** Give up following: readiness drops through onEnded and every write waiting to be mirrored fails. */
  private fail(err: Error): void {
    if (this.failed || this.stopping) return;
    this.failed = err;
    this.stall?.stop();
    this.opts.log.error({ err, bucket: this.opts.bucket }, `${this.opts.what} mirror cannot follow the bucket; this replica no longer follows it`);
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.opts.onEnded?.(err);
  }

  private follow(watch: QueuedIterator<KvEntry>): void {
    this.watch = watch;
    this.following = (async () => {
      for await (const e of watch) {
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

  private async apply(e: Change): Promise<void> {
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
    if (this.failed) return Promise.reject(this.failed);
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
    this.wakeResume?.();
    await this.resuming;
    this.watch.stop();
    await this.following;
  }
}
