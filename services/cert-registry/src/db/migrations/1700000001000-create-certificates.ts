// First schema of the registry: certificates and their append-only status history. Table API only,
// so the same migration runs on SQLite and PostgreSQL.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

export class CreateCertificates1700000001000 implements MigrationInterface {
  name = 'CreateCertificates1700000001000';

  async up(q: QueryRunner): Promise<void> {
    const { ts, uuid } = columnTypes(q);
    await q.createTable(
      new Table({
        name: 'certificates',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '256' },
          { name: 'usage', type: 'varchar', length: '32' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'subject', type: 'text' },
          { name: 'issuer', type: 'text' },
          { name: 'serial', type: 'varchar', length: '128' },
          { name: 'not_before', type: ts },
          { name: 'not_after', type: ts },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'key_type', type: 'varchar', length: '32' },
          { name: 'pem', type: 'text' },
          { name: 'created_at', type: ts },
          { name: 'updated_at', type: ts },
          { name: 'created_by', type: 'varchar', length: '64' },
        ],
        // (account_id, fingerprint): no duplicate in an account, and its account_id prefix serves
        // the broker's trust-set query (`WHERE account_id IN (...)`).
        uniques: [{ name: 'certificates_account_fingerprint', columnNames: ['account_id', 'fingerprint'] }],
        // Listing an account page by page in (created_at, id) order.
        indices: [{ name: 'certificates_account_created', columnNames: ['account_id', 'created_at', 'id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'certificate_status_history',
        columns: [
          { name: 'seq', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          // No foreign key: history outlives the certificate it describes.
          { name: 'certificate_id', ...uuid },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'fingerprint', type: 'varchar', length: '64' },
          { name: 'before_status', type: 'varchar', length: '16', isNullable: true },
          { name: 'after_status', type: 'varchar', length: '16', isNullable: true },
          { name: 'actor_kind', type: 'varchar', length: '16' },
          { name: 'actor_id', type: 'varchar', length: '64' },
          { name: 'actor_name', type: 'varchar', length: '256', isNullable: true },
          { name: 'at', type: ts },
        ],
        indices: [{ name: 'certificate_status_history_cert', columnNames: ['certificate_id', 'seq'] }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('certificate_status_history');
    await q.dropTable('certificates');
  }
}
