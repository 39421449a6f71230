// CRLs and revoked serials of registered CAs (docs/design.md §1 "Revocation lists"). Table API only, so
// the same migration runs on SQLite and PostgreSQL.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

export class CreateRevocation1700000002000 implements MigrationInterface {
  name = 'CreateRevocation1700000002000';

  async up(q: QueryRunner): Promise<void> {
    const { ts, uuid } = columnTypes(q);
    await q.createTable(
      new Table({
        name: 'revocation_states',
        columns: [
          { name: 'certificate_id', ...uuid, isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'revision', type: 'integer' },
          { name: 'crl_fingerprint', type: 'varchar', length: '64', isNullable: true },
          { name: 'crl_issuer', type: 'text', isNullable: true },
          { name: 'crl_this_update', type: ts, isNullable: true },
          { name: 'crl_next_update', type: ts, isNullable: true },
          { name: 'crl_number', type: 'varchar', length: '64', isNullable: true },
          { name: 'crl_entries', type: 'integer' },
          { name: 'crl_source', type: 'varchar', length: '16', isNullable: true },
          { name: 'crl_updated_at', type: ts, isNullable: true },
          { name: 'manual_count', type: 'integer' },
          { name: 'dp_url', type: 'text', isNullable: true },
          { name: 'dp_account_path', type: 'text', isNullable: true },
          { name: 'dp_last_attempt_at', type: ts, isNullable: true },
          { name: 'dp_last_success_at', type: ts, isNullable: true },
          { name: 'dp_last_error', type: 'text', isNullable: true },
          { name: 'dp_failures', type: 'integer' },
          { name: 'dp_next_fetch_at', type: ts, isNullable: true },
        ],
        // The fetcher's "what is due" query.
        indices: [{ name: 'revocation_states_next_fetch', columnNames: ['dp_next_fetch_at'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'revoked_serials',
        columns: [
          // No foreign key, like the history: rows go in the same transaction as their certificate.
          { name: 'certificate_id', ...uuid, isPrimary: true },
          { name: 'serial', type: 'varchar', length: '80', isPrimary: true },
          { name: 'source', type: 'varchar', length: '8', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'reason', type: 'varchar', length: '32', isNullable: true },
          { name: 'revoked_at', type: ts, isNullable: true },
          { name: 'revoked_by', type: 'varchar', length: '256', isNullable: true },
        ],
        // The primary key (certificate_id, serial, source) pages a CA's serials for the brokers;
        // this one lists its revoked-serial entries alone.
        indices: [{ name: 'revoked_serials_source', columnNames: ['certificate_id', 'source', 'serial'] }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('revoked_serials');
    await q.dropTable('revocation_states');
  }
}
