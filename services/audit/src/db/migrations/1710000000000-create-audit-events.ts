// The audit store's schema, with TypeORM's Table API so it runs on SQLite and PostgreSQL alike.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

const text = (name: string, nullable = true) => ({ name, type: 'text', isNullable: nullable });

export class CreateAuditEvents1710000000000 implements MigrationInterface {
  name = 'CreateAuditEvents1710000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          // The event id is the key: storing a redelivered event again is a no-op (insert-or-ignore).
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'seq', type: 'bigint' },
          text('type', false),
          { name: 'time', type: 'varchar', length: '30' },
          { name: 'account_id', type: 'varchar', length: '64', isNullable: true },
          text('account_path'),
          { name: 'outcome', type: 'varchar', length: '16', isNullable: true },
          text('reason'),
          text('client_id'),
          text('username'),
          text('certificate_fingerprint'),
          text('certificate_id'),
          text('source_address'),
          text('trace_id'),
          text('source', false),
          text('payload', false),
        ],
      }),
      true,
    );
    // Every query is one account (or subtree), newest first by (time, id); the filters narrow it.
    const idx = (name: string, columnNames: string[]) => q.createIndex('audit_events', new TableIndex({ name, columnNames }));
    await idx('IDX_audit_events_account_time', ['account_id', 'time', 'id']);
    await idx('IDX_audit_events_account_type_time', ['account_id', 'type', 'time']);
    await idx('IDX_audit_events_account_client_time', ['account_id', 'client_id', 'time']);
    await idx('IDX_audit_events_account_username_time', ['account_id', 'username', 'time']);
    await idx('IDX_audit_events_account_fingerprint', ['account_id', 'certificate_fingerprint']);
    await idx('IDX_audit_events_account_certificate', ['account_id', 'certificate_id']);
    await idx('IDX_audit_events_path_time', ['account_path', 'time']);
    // Retention deletes by time across accounts.
    await idx('IDX_audit_events_time', ['time']);

    await q.createTable(
      new Table({
        name: 'audit_dead_letters',
        columns: [
          { name: 'stream_seq', type: 'bigint', isPrimary: true },
          text('subject', false),
          { name: 'received_at', type: 'varchar', length: '30' },
          text('problems', false),
          text('data', false),
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('audit_dead_letters', true);
    await q.dropTable('audit_events', true);
  }
}
