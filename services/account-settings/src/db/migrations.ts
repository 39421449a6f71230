// Schema of the account-settings database, with TypeORM's Table API so it runs on SQLite and PostgreSQL.
import { Table, TableColumn, TableForeignKey, type MigrationInterface, type QueryRunner } from 'typeorm';
import { mutualTlsOn, type Settings } from '@twoway/contracts';
import { CreateOutbox1700000000000 } from '@twoway/persistence';

export class CreateAccountSettings1731000000000 implements MigrationInterface {
  name = 'CreateAccountSettings1731000000000';
  async up(q: QueryRunner): Promise<void> {
    const ts = q.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await q.createTable(
      new Table({
        name: 'accounts',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'parent_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'settings', type: 'text' },
          { name: 'created_at', type: ts },
          { name: 'updated_at', type: ts },
        ],
        // Names are unique among siblings (the root has no siblings).
        uniques: [{ name: 'accounts_parent_name', columnNames: ['parent_id', 'name'] }],
        indices: [{ name: 'accounts_parent', columnNames: ['parent_id'] }],
        foreignKeys: [new TableForeignKey({ name: 'accounts_parent_fk', columnNames: ['parent_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'credentials',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'username', type: 'varchar', length: '256' },
          { name: 'password_hash', type: 'varchar', length: '256' },
          { name: 'enabled', type: 'boolean' },
          { name: 'expires_at', type: ts, isNullable: true },
          { name: 'created_at', type: ts },
          { name: 'updated_at', type: ts },
        ],
        // Installation-wide: the username alone names the device's account at CONNECT.
        uniques: [{ name: 'credentials_username', columnNames: ['username'] }],
        indices: [{ name: 'credentials_account', columnNames: ['account_id'] }],
        foreignKeys: [new TableForeignKey({ name: 'credentials_account_fk', columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'account_id', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'role', type: 'varchar', length: '16' },
          { name: 'secret_hash', type: 'varchar', length: '64' },
          { name: 'expires_at', type: ts, isNullable: true },
          { name: 'revoked_at', type: ts, isNullable: true },
          { name: 'created_at', type: ts },
        ],
        indices: [{ name: 'tokens_account', columnNames: ['account_id'] }],
        foreignKeys: [new TableForeignKey({ name: 'tokens_account_fk', columnNames: ['account_id'], referencedTableName: 'accounts', referencedColumnNames: ['id'] })],
      }),
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('tokens');
    await q.dropTable('credentials');
    await q.dropTable('accounts');
  }
}

/** The verified path a credential last connected with: what keeps it from falling back once that path is suspended. */
export class AddCredentialChain1732000000000 implements MigrationInterface {
  name = 'AddCredentialChain1732000000000';
  async up(q: QueryRunner): Promise<void> {
    const ts = q.connection.options.type === 'postgres' ? 'timestamptz' : 'datetime';
    await q.addColumns('credentials', [
      new TableColumn({ name: 'chain_path', type: 'text', isNullable: true }),
      new TableColumn({ name: 'chain_seen_at', type: ts, isNullable: true }),
    ]);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('credentials', 'chain_seen_at');
    await q.dropColumn('credentials', 'chain_path');
  }
}

/** Accounts updated per statement (well below SQLite's and PostgreSQL's bound on parameters). */
const MIGRATION_BATCH = 500;

/**
 * `require_certificate`: the credential is accepted only on a verified, clean chain. Stored credentials
 * get it on exactly when their account has mutual TLS on and the credential has connected with a
 * verified chain (`chain_path` recorded): such a device holds a certificate that verifies, so requiring
 * it changes nothing while it is healthy, and closes the password-only way in once its CA is suspended.
 * Every other credential keeps today's behaviour (off): a device that only ever used its password is
 * not locked out by an upgrade (docs/broker.md, "Credentials that require a certificate").
 */
export class AddCredentialRequireCertificate1733000000000 implements MigrationInterface {
  name = 'AddCredentialRequireCertificate1733000000000';
  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('credentials', new TableColumn({ name: 'require_certificate', type: 'boolean', isNullable: false, default: false }));
    // Settings are JSON text: which accounts have mutual TLS on is decided here, not in SQL.
    const accounts = (await q.query('SELECT id, settings FROM accounts')) as { id: string; settings: string }[];
    const ids = accounts.filter((a) => mutualTlsOn(JSON.parse(a.settings) as Settings)).map((a) => a.id);
    const postgres = q.connection.options.type === 'postgres';
    for (let i = 0; i < ids.length; i += MIGRATION_BATCH) {
      const batch = ids.slice(i, i + MIGRATION_BATCH);
      const params = batch.map((_, k) => (postgres ? `$${k + 1}` : '?')).join(', ');
      await q.query(`UPDATE credentials SET require_certificate = ${postgres ? 'TRUE' : '1'} WHERE chain_path IS NOT NULL AND account_id IN (${params})`, batch);
    }
  }
  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('credentials', 'require_certificate');
  }
}

export const migrations = [CreateOutbox1700000000000, CreateAccountSettings1731000000000, AddCredentialChain1732000000000, AddCredentialRequireCertificate1733000000000];
