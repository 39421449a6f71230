// Schema of the account-settings database, with TypeORM's Table API so it runs on SQLite and PostgreSQL.
import { Table, TableColumn, TableForeignKey, type MigrationInterface, type QueryRunner } from 'typeorm';
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

export const migrations = [CreateOutbox1700000000000, CreateAccountSettings1731000000000, AddCredentialChain1732000000000];
