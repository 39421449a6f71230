// The upgrade that adds `require_certificate`, on SQLite and PostgreSQL, over a database written by the
// schema before it: stored credentials get it on exactly where their account has mutual TLS on and they
// have connected with a verified chain; everything else keeps the password-only way in it had.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, type Settings } from '@twoway/contracts';
import { openDatabase } from '@twoway/persistence';
import { Postgres, tempDir } from '@twoway/testing';
import { AccountEntity, CredentialEntity, TokenEntity } from './entities.js';
import { AddCredentialRequireCertificate1733000000000, migrations } from './migrations.js';

const before1733 = migrations.filter((m) => m !== AddCredentialRequireCertificate1733000000000);
const settings = (mtls: Partial<Settings['mutualTls']>): string => JSON.stringify({ ...DEFAULT_SETTINGS, mutualTls: { ...DEFAULT_SETTINGS.mutualTls, ...mtls } });

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`account-settings migration to requireCertificate on ${dialect}`, () => {
    let pg: Postgres | undefined;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    before(async () => {
      dir = await tempDir();
      if (dialect === 'postgres') pg = await Postgres.start();
    });
    after(async () => {
      await pg?.stop();
      await dir?.[Symbol.asyncDispose]();
    });

    it('given credentials stored before it, then on only with mutual TLS on and a recorded verified chain', async () => {
      const url = pg ? await pg.createDatabase('upgrade') : undefined;
      const open = (ms: typeof migrations) => openDatabase({ url, dataDir: dir.path, defaultFile: 'account-settings.sqlite', entities: [AccountEntity, CredentialEntity, TokenEntity], migrations: ms });

      // The database as the previous release wrote it (its schema, its rows), with plain SQL.
      const old = await open(before1733);
      const now = new Date();
      // TypeORM keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.SSS' text; PostgreSQL binds a Date.
      const ts = pg ? now : now.toISOString().replace('T', ' ').replace('Z', '');
      const accounts: [string, string][] = [
        ['provider', settings({})],
        ['mtls-on', settings({ available: true, enabled: true })],
        ['mtls-available', settings({ available: true, enabled: false })],
      ];
      const p = (n: number) => (pg ? `$${n}` : '?');
      for (const [id, s] of accounts) {
        await old.query(`INSERT INTO accounts (id, name, parent_id, settings, created_at, updated_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)})`, [id, id, id === 'provider' ? null : 'provider', s, ts, ts]);
      }
      const creds: [id: string, account: string, chain: string | null][] = [
        ['on-chain', 'mtls-on', JSON.stringify(['aa'.repeat(32), 'bb'.repeat(32)])],
        ['on-no-chain', 'mtls-on', null],
        ['available-chain', 'mtls-available', JSON.stringify(['aa'.repeat(32)])],
        ['plain-chain', 'provider', JSON.stringify(['aa'.repeat(32)])],
      ];
      for (const [id, account, chain] of creds) {
        await old.query(
          `INSERT INTO credentials (id, account_id, username, password_hash, enabled, expires_at, chain_path, chain_seen_at, created_at, updated_at) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(p).join(', ')})`,
          [id, account, id, 'scrypt$x', pg ? true : 1, null, chain, chain ? ts : null, ts, ts],
        );
      }
      await old.destroy();

      // The upgrade: the next start runs the new migration.
      const ds = await open(migrations);
      try {
        const rows = await ds.getRepository(CredentialEntity).find({ order: { id: 'ASC' } });
        assert.deepEqual(
          rows.map((r) => [r.id, r.requireCertificate]),
          [
            ['available-chain', false], // mutual TLS available but not on: the device may have no certificate to present
            ['on-chain', true], // it has connected with a verified chain: requiring one changes nothing while it is healthy
            ['on-no-chain', false], // never seen with a certificate: not locked out by an upgrade
            ['plain-chain', false],
          ],
        );
        // Written after the upgrade: the column takes the value given (not null, no default surprises).
        await ds.getRepository(CredentialEntity).insert({ id: 'new', accountId: 'mtls-on', username: 'new', passwordHash: 'scrypt$x', enabled: true, expiresAt: null, requireCertificate: true, createdAt: now, updatedAt: now });
        assert.equal((await ds.getRepository(CredentialEntity).findOneByOrFail({ id: 'new' })).requireCertificate, true);
        // And it undoes cleanly.
        await ds.undoLastMigration({ transaction: 'each' });
        const columns = (await ds.createQueryRunner().getTable('credentials'))!.columns.map((c) => c.name);
        assert.equal(columns.includes('require_certificate'), false);
      } finally {
        await ds.destroy();
      }
    });
  });
}
