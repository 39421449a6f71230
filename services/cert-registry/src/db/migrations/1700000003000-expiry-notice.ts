// The expiry audit event last written for each registration (null, `expiring`, `expired`), so the
// periodic expiry scan audits each crossing once across restarts and replicas; and an index on
// not_after, so the scan and the `expiresWithinDays` filter read only the certificates near their end.
import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class ExpiryNotice1700000003000 implements MigrationInterface {
  name = 'ExpiryNotice1700000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('certificates', new TableColumn({ name: 'expiry_notice', type: 'varchar', length: '16', isNullable: true }));
    await q.createIndex('certificates', new TableIndex({ name: 'certificates_not_after', columnNames: ['not_after'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('certificates', 'certificates_not_after');
    await q.dropColumn('certificates', 'expiry_notice');
  }
}
