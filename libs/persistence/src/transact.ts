// One write transaction at a time per SQLite database. TypeORM's better-sqlite3 driver shares one
// connection among all query runners, so two concurrent transactions would nest as savepoints of
// each other, and a reader on that connection would see uncommitted rows. SQLite has a single
// writer anyway; PostgreSQL gets real concurrent transactions.
import type { DataSource, EntityManager } from 'typeorm';

const queues = new WeakMap<DataSource, Promise<unknown>>();

const isSqlite = (ds: DataSource) => ds.options.type === 'better-sqlite3';

/** Run `fn` exclusively on SQLite (queued behind other `exclusive` calls); directly on PostgreSQL. */
export function exclusive<T>(ds: DataSource, fn: () => Promise<T>): Promise<T> {
  if (!isSqlite(ds)) return fn();
  const prev = queues.get(ds) ?? Promise.resolve();
  const p = prev.then(fn, fn);
  queues.set(ds, p.catch(() => undefined));
  return p;
}

/** A write transaction; use it for every change that enqueues outbox events. */
export function transact<T>(ds: DataSource, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return exclusive(ds, () => ds.transaction(fn));
}
