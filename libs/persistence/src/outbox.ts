// Transactional outbox: a service writes its change and the event describing it in one transaction;
// the relay publishes pending events to JetStream (message id = event id, so a re-publish after a
// crash is deduplicated by the stream) and marks them sent. No change is ever committed without its
// event eventually reaching every broker. Sent rows are kept for a retention period (to look at after
// an incident), then deleted in bounded batches, so the table holds at most that period's writes.
import { exclusive } from './transact.js';
import { EntitySchema, IsNull, Table, type DataSource, type EntityManager, type MigrationInterface, type QueryRunner } from 'typeorm';

export interface OutboxRow {
  seq?: number;
  id: string;
  subject: string;
  payload: string;
  traceparent: string | null;
  createdAt: Date;
  publishedAt: Date | null;
}

export const OutboxEntity = new EntitySchema<OutboxRow>({
  name: 'OutboxRow',
  tableName: 'outbox',
  columns: {
    seq: { type: Number, primary: true, generated: 'increment' },
    id: { type: String, length: 64, unique: true },
    subject: { type: String, length: 200 },
    payload: { type: 'text' },
    traceparent: { type: String, length: 100, nullable: true },
    createdAt: { type: Date, name: 'created_at' },
    publishedAt: { type: Date, name: 'published_at', nullable: true },
  },
  indices: [{ name: 'outbox_pending', columns: ['publishedAt', 'seq'] }],
});

/** Add to a service's migrations list (any position after its own first migration). */
export class CreateOutbox1700000000000 implements MigrationInterface {
  name = 'CreateOutbox1700000000000';
  async up(q: QueryRunner): Promise<void> {
    const ts = q.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await q.createTable(
      new Table({
        name: 'outbox',
        columns: [
          { name: 'seq', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'id', type: 'varchar', length: '64', isUnique: true },
          { name: 'subject', type: 'varchar', length: '200' },
          { name: 'payload', type: 'text' },
          { name: 'traceparent', type: 'varchar', length: '100', isNullable: true },
          { name: 'created_at', type: ts },
          { name: 'published_at', type: ts, isNullable: true },
        ],
        indices: [{ name: 'outbox_pending', columnNames: ['published_at', 'seq'] }],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('outbox');
  }
}

/** Queue an event inside the caller's transaction. */
export async function enqueueEvent(em: EntityManager, subject: string, event: { id: string }, traceparent?: string): Promise<void> {
  await em.getRepository(OutboxEntity).insert({
    id: event.id,
    subject,
    payload: JSON.stringify(event),
    traceparent: traceparent ?? null,
    createdAt: new Date(),
    publishedAt: null,
  });
}

export interface Publisher {
  publishRaw(subject: string, id: string, payload: string, traceparent?: string): Promise<void>;
  /**
   * Announce a row on core NATS before its JetStream publish (libs/contracts `liveChangeSubject`);
   * false when it could not be sent now (disconnected). Optional: without it only the stream carries it.
   */
  announceRaw?(subject: string, payload: string, traceparent?: string): boolean;
}

export interface OutboxRelayOptions {
  ds: DataSource;
  publisher: Publisher;
  log: { warn(o: object, m: string): void };
  /** How often to look for pending rows when not woken explicitly. */
  pollMs?: number;
  batch?: number;
  /** Published rows older than this are deleted (default `OUTBOX_RETENTION_MS`); 0 keeps them forever. */
  retentionMs?: number;
  /** How often to prune (default `OUTBOX_PRUNE_INTERVAL_MS`). */
  pruneIntervalMs?: number;
}

/** Default retention of published outbox rows: long enough to inspect a day's changes after an incident. */
export const OUTBOX_RETENTION_MS = 24 * 3600 * 1000;
export const OUTBOX_PRUNE_INTERVAL_MS = 60_000;
/**
 * Rows deleted per statement: each batch is its own short statement (and, on SQLite, takes the write
 * lock only that long), so pruning a large backlog never holds writers up for long.
 */
export const OUTBOX_PRUNE_BATCH = 1_000;

/** Longest a write waits for its events to be published before answering anyway (they stay in the outbox). */
export const SETTLE_MAX_WAIT_MS = 1_000;

/** Publishes pending outbox rows in order. `kick()` after a commit publishes at once. */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;
  private pruning?: Promise<number>;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private lastError: string | undefined;
  /** Drains started and finished, counted: `settle()` waits for a drain that began after its call. */
  private drainsStarted = 0;
  private drainsDone = 0;
  private readonly waiters: { drain: number; resolve: () => void }[] = [];

  private constructor(private readonly o: OutboxRelayOptions) {}

  static start(o: OutboxRelayOptions): OutboxRelay {
    const r = new OutboxRelay(o);
    r.schedule();
    r.kick();
    return r;
  }

  /** Pending rows exist that could not be published (NATS down): readiness reports it. */
  get healthy(): boolean {
    return this.lastError === undefined;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const n = ++this.drainsStarted;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      this.drainsDone = n;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.drain <= n) this.waiters.splice(i, 1)[0]!.resolve();
      }
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * After a commit: publish what it queued, and resolve once that was attempted (true: published and
   * the relay is healthy) or after `maxWaitMs` (false). A write API awaits this before answering, so a
   * 2xx means the change is already on its way to every broker, not only in the outbox; a caller that
   * restores a certificate and connects at once is decided on the restored status. With NATS away it
   * does not wait at all: the rows stay in the outbox and the write still succeeds.
   */
  async settle(maxWaitMs = SETTLE_MAX_WAIT_MS): Promise<boolean> {
    if (this.stopped) return false;
    // The drain kick() starts now, or, when one is running (it may have read the pending rows before
    // this commit), the one it schedules after it.
    const target = this.drainsStarted + 1;
    this.kick();
    if (!this.healthy) return false;
    if (this.drainsDone >= target) return this.healthy;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => this.waiters.push({ drain: target, resolve: () => resolve(true) })),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), maxWaitMs))),
    ]);
    clearTimeout(timer);
    return done && this.healthy;
  }

  /** Resolves when everything pending at call time has been attempted. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    this.kick();
    while (this.running) await this.running;
  }

  private schedule(): void {
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 1000);
    this.timer.unref();
    const retentionMs = this.o.retentionMs ?? OUTBOX_RETENTION_MS;
    if (retentionMs > 0) {
      this.pruneTimer = setInterval(() => {
        if (this.pruning || this.stopped) return;
        this.pruning = this.prune(retentionMs)
          .catch((e: unknown) => {
            this.o.log.warn({ err: e }, 'outbox prune failed; will retry');
            return 0;
          })
          .finally(() => (this.pruning = undefined));
      }, this.o.pruneIntervalMs ?? OUTBOX_PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  private async drain(): Promise<void> {
    const repo = this.o.ds.getRepository(OutboxEntity);
    for (;;) {
      if (this.stopped || !this.o.ds.isInitialized) return;
      let rows: OutboxRow[];
      try {
        // Exclusive with writers on SQLite, so a pending row is only seen once its transaction committed.
        rows = await exclusive(this.o.ds, () => repo.find({ where: { publishedAt: IsNull() }, order: { seq: 'ASC' }, take: this.o.batch ?? 100 }));
      } catch (e) {
        this.fail(e);
        return;
      }
      if (rows.length === 0) {
        this.lastError = undefined;
        return;
      }
      // Every row of the batch is announced before the first JetStream publish: while the stream cannot
      // store (a leader election after a NATS node loss), brokers already act on all of them. Rows the
      // stream has not taken yet are announced again every `pollMs`, also while a publish waits for its
      // timeout: a broker whose own NATS node went down with the leader misses announcements while it
      // reconnects. Brokers apply each change once, by its event id.
      let next = 0;
      const announce = () => {
        for (const row of rows.slice(next)) if (!this.o.publisher.announceRaw?.(row.subject, row.payload, row.traceparent ?? undefined)) break;
      };
      announce();
      const again = this.o.publisher.announceRaw ? setInterval(announce, this.o.pollMs ?? 1000) : undefined;
      try {
        for (; next < rows.length; next++) {
          const row = rows[next]!;
          try {
            await this.o.publisher.publishRaw(row.subject, row.id, row.payload, row.traceparent ?? undefined);
            await exclusive(this.o.ds, () => repo.update({ seq: row.seq }, { publishedAt: new Date() }));
          } catch (e) {
            this.fail(e);
            return;
          }
        }
      } finally {
        clearInterval(again);
      }
    }
  }

  private fail(e: unknown): void {
    const msg = (e as Error)?.message ?? String(e);
    if (msg !== this.lastError) this.o.log.warn({ err: e }, 'outbox relay: publish failed; will retry');
    this.lastError = msg;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.pruning;
    while (this.running) await this.running;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  /**
   * Delete published rows older than `olderThanMs`, `batch` rows per statement, until none is left;
   * returns how many went. Pending rows are never touched. The same statement on SQLite and
   * PostgreSQL (neither has DELETE … LIMIT in common): the oldest `batch` rows by `seq`.
   */
  async prune(olderThanMs: number, batch = OUTBOX_PRUNE_BATCH, now = new Date()): Promise<number> {
    const ds = this.o.ds;
    const cutoff = new Date(now.getTime() - olderThanMs);
    const pg = ds.options.type === 'postgres';
    const sql =
      `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE published_at IS NOT NULL AND published_at < ${pg ? '$1' : '?'} ` +
      `ORDER BY seq LIMIT ${pg ? '$2' : '?'})` + (pg ? ' RETURNING seq' : '');
    let total = 0;
    for (;;) {
      if (this.stopped || !ds.isInitialized) return total;
      // SQLite stores dates as 'YYYY-MM-DD HH:MM:SS.SSS' text (TypeORM's format); compare in that form.
      const t = pg ? cutoff : cutoff.toISOString().replace('T', ' ').replace('Z', '');
      const n = await exclusive(ds, async () => {
        const qr = ds.createQueryRunner();
        try {
          const r = await qr.query(sql, [t, batch], true);
          return pg ? (r.records as unknown[]).length : Number((r.raw as { changes?: number })?.changes ?? r.affected ?? 0);
        } finally {
          await qr.release();
        }
      });
      total += n;
      if (n < batch) return total;
      await new Promise((r) => setImmediate(r));
    }
  }
}
