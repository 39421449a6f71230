// @twoway/persistence: open a service's own database (SQLite or PostgreSQL) with its migrations.
export { openDatabase, dialectOf, DatabaseUrlError } from './data-source.js';
export type { DatabaseOptions, Dialect } from './data-source.js';
