// @twoway/persistence: open a service's own database (SQLite or PostgreSQL) with its migrations,
// and the transactional outbox that publishes its events.
export { openDatabase, dialectOf, DatabaseUrlError } from './data-source.js';
export type { DatabaseOptions, Dialect } from './data-source.js';
export { OutboxEntity, CreateOutbox1700000000000, enqueueEvent, OutboxRelay, OUTBOX_RETENTION_MS, OUTBOX_PRUNE_BATCH } from './outbox.js';
export type { OutboxRow, Publisher, OutboxRelayOptions } from './outbox.js';
export { transact, exclusive } from './transact.js';
