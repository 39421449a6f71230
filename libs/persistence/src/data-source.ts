// One way to open a service's database: SQLite file under the data dir by default, PostgreSQL by URL.
// Schema comes from migrations only (never `synchronize`), run at start inside a transaction.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DataSource, type EntitySchema, type MixedList, type MigrationInterface } from 'typeorm';

export class DatabaseUrlError extends Error {
  override name = 'DatabaseUrlError';
  /** The URL with its credentials masked: the raw URL may hold a password and is never kept. */
  readonly url: string;
  constructor(url: string) {
    const masked = url.replace(/\/\/[^@/]*@/, '//***@');
    super(`unsupported database URL (expected sqlite:PATH or postgres://...): ${masked}`);
    this.url = masked;
  }
}

export interface DatabaseOptions {
  /** `sqlite:PATH`, `sqlite::memory:`, `postgres://user:pass@host:port/db`; undefined → sqlite file in dataDir. */
  url?: string;
  dataDir: string;
  /** File name used for the default SQLite database, e.g. `cert-registry.sqlite`. */
  defaultFile: string;
  entities: MixedList<EntitySchema | Function>;
  migrations: (new () => MigrationInterface)[];
  logging?: boolean;
}

export type Dialect = 'sqlite' | 'postgres';

export function dialectOf(url: string | undefined): Dialect {
  if (!url || url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  throw new DatabaseUrlError(url);
}

export async function openDatabase(o: DatabaseOptions): Promise<DataSource> {
  const dialect = dialectOf(o.url);
  let ds: DataSource;
  if (dialect === 'sqlite') {
    const raw = o.url ? o.url.slice('sqlite:'.length) : join(o.dataDir, o.defaultFile);
    const database = raw === ':memory:' ? ':memory:' : resolve(raw);
    if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true });
    ds = new DataSource({
      type: 'better-sqlite3',
      database,
      entities: o.entities,
      migrations: o.migrations,
      synchronize: false,
      logging: o.logging ?? false,
      // WAL lets readers proceed during writes; a busy timeout rides out a concurrent writer.
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 5000');
        db.pragma('foreign_keys = ON');
      },
    });
  } else {
    ds = new DataSource({
      type: 'postgres',
      url: o.url,
      entities: o.entities,
      migrations: o.migrations,
      synchronize: false,
      logging: o.logging ?? false,
      extra: { max: 10, connectionTimeoutMillis: 5000 },
    });
  }
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
