// The credential check with its verified-password cache, against a real SQLite database: which checks
// run scrypt (counted through the hashing the checker is given) and what each one answers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '@twoway/contracts';
import { OutboxEntity, openDatabase } from '@twoway/persistence';
import { tempDir } from '@twoway/testing';
import { CredentialChecker } from './credential-check.js';
import { AccountStore, PROVIDER_ACCOUNT_ID } from './db/account-store.js';
import { AccountEntity, CredentialEntity, TokenEntity } from './db/entities.js';
import { migrations } from './db/migrations.js';
import { SYSTEM_ACTOR } from './domain/events.js';
import { hashPassword, verifyPassword, type PasswordHashing } from './domain/password-hash.js';
import { VerifiedPasswords } from './domain/verified-passwords.js';

/** A low scrypt cost keeps the test fast; what is counted is how often scrypt runs, not how long. */
const TEST_LOG2_N = 10;
const PASSWORD = 'device-password-1';
const ADDRESS = '198.51.100.7';

async function given(t: { after(fn: () => Promise<void>): void }) {
  const dir = await tempDir();
  t.after(() => dir[Symbol.asyncDispose]());
  const ds = await openDatabase({ dataDir: dir.path, defaultFile: 'account-settings.sqlite', entities: [AccountEntity, CredentialEntity, TokenEntity, OutboxEntity], migrations });
  t.after(() => ds.destroy());
  // Events stay in the outbox table: nothing here reads them.
  const store = new AccountStore(ds, { settle: async () => true });
  await store.bootstrap({ providerName: 'provider', token: 'test-bootstrap-token-0123456789', actor: SYSTEM_ACTOR, deliver: async () => undefined });

  const scrypt = { calls: 0 };
  const hashing: PasswordHashing = {
    hash: (password) => hashPassword(password, TEST_LOG2_N),
    verify: (password, stored) => {
      scrypt.calls += 1;
      return verifyPassword(password, stored);
    },
  };
  const verified = new VerifiedPasswords({ maxEntries: 100, ttlMs: 3_600_000 });
  const checker = await CredentialChecker.create(store, {
    limits: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000, maxFailuresPerUsername: 100 },
    verified,
    hashing,
  });
  const cred = await store.createCredential(PROVIDER_ACCOUNT_ID, { username: 'device-1', passwordHash: await hashing.hash(PASSWORD), enabled: true, expiresAt: null }, SYSTEM_ACTOR);
  const verify = (password: string) => checker.verify({ key: 'device-1', password, sourceAddress: ADDRESS });
  const who = { credentialId: cred.id, accountId: PROVIDER_ACCOUNT_ID, username: 'device-1' };
  return { store, checker, verified, scrypt, hashing, cred, verify, who };
}

describe('credential check with verified passwords (SQLite)', () => {
  it('the second verification of the same credential and password runs no scrypt, and answers the same', async (t) => {
    const { verify, scrypt, who, verified } = await given(t);
    const ok = { ok: true, ...who, settings: DEFAULT_SETTINGS, ancestry: [PROVIDER_ACCOUNT_ID], requireCertificate: false };
    assert.deepEqual(await verify(PASSWORD), ok);
    assert.equal(scrypt.calls, 1);
    assert.deepEqual(await verify(PASSWORD), ok);
    assert.deepEqual(await verify(PASSWORD), ok);
    assert.equal(scrypt.calls, 1, 'the later verifications ran no scrypt');
    assert.deepEqual([verified.hits, verified.misses], [2, 1]);
  });

  it('a wrong password after a cached success still runs scrypt each time and counts toward lockout', async (t) => {
    const { verify, scrypt, who, checker } = await given(t);
    assert.equal((await verify(PASSWORD)).ok, true);
    assert.equal(scrypt.calls, 1);
    const refused = { ok: false, reason: 'BAD_CREDENTIALS', accountId: who.accountId, username: who.username, ancestry: [PROVIDER_ACCOUNT_ID] };
    // maxFailures 3 in this test: the third failure locks the username at this address
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(await verify(`wrong-password-${i}`), refused);
      assert.equal(scrypt.calls, 1 + i, `wrong password ${i} ran scrypt`);
    }
    const limited = { ok: false, reason: 'RATE_LIMITED', accountId: who.accountId, username: who.username, ancestry: [PROVIDER_ACCOUNT_ID] };
    assert.deepEqual(await verify(PASSWORD), limited, 'the right, cached password is locked out too');
    // the username-and-address count itself (the only one applied to a chain the broker verified)
    assert.deepEqual(await checker.verify({ key: 'device-1', password: PASSWORD, sourceAddress: ADDRESS, chainVerified: true }), limited);
    assert.equal(scrypt.calls, 4, 'a locked-out check hashes nothing');
    // the device at another address is not locked out, and its cached password still runs no scrypt
    assert.equal((await checker.verify({ key: 'device-1', password: PASSWORD, sourceAddress: '198.51.100.8' })).ok, true);
    assert.equal(scrypt.calls, 4);
  });

  it('an unknown username still costs the dummy scrypt', async (t) => {
    const { checker, scrypt } = await given(t);
    for (let i = 1; i <= 2; i++) {
      assert.deepEqual(await checker.verify({ key: 'nobody', password: PASSWORD, sourceAddress: `203.0.113.${i}` }), { ok: false, reason: 'BAD_CREDENTIALS' });
      assert.equal(scrypt.calls, i);
    }
  });

  it('a password changed in the database (no notice to this checker) makes the old password fail at once', async (t) => {
    const { verify, scrypt, who, store, cred, hashing } = await given(t);
    assert.equal((await verify(PASSWORD)).ok, true);
    assert.equal((await verify(PASSWORD)).ok, true);
    assert.equal(scrypt.calls, 1);
    // as another replica would: the row changes, this checker's cache is not told
    await store.updateCredential(PROVIDER_ACCOUNT_ID, cred.id, { passwordHash: await hashing.hash('device-password-2') }, SYSTEM_ACTOR);
    assert.deepEqual(await verify(PASSWORD), { ok: false, reason: 'BAD_CREDENTIALS', accountId: who.accountId, username: who.username, ancestry: [PROVIDER_ACCOUNT_ID] });
    assert.equal(scrypt.calls, 2, 'the old password was checked by scrypt against the new hash');
    assert.equal((await verify('device-password-2')).ok, true);
    assert.equal((await verify('device-password-2')).ok, true);
    assert.equal(scrypt.calls, 3);
  });

  it('a credential disabled or expired in the database is refused after a cached success, without scrypt', async (t) => {
    const { verify, scrypt, who, store, cred } = await given(t);
    assert.equal((await verify(PASSWORD)).ok, true);
    await store.updateCredential(PROVIDER_ACCOUNT_ID, cred.id, { enabled: false }, SYSTEM_ACTOR);
    assert.deepEqual(await verify(PASSWORD), { ok: false, reason: 'CREDENTIAL_DISABLED', ...who, ancestry: [PROVIDER_ACCOUNT_ID] });
    await store.updateCredential(PROVIDER_ACCOUNT_ID, cred.id, { enabled: true, expiresAt: new Date(Date.now() - 1_000) }, SYSTEM_ACTOR);
    assert.deepEqual(await verify(PASSWORD), { ok: false, reason: 'CREDENTIAL_EXPIRED', ...who, ancestry: [PROVIDER_ACCOUNT_ID] });
    assert.equal(scrypt.calls, 1);
  });

  it('a password set by an operator (passwordSet) is recognised at the first check; credentialChanged forgets it', async (t) => {
    const { verify, scrypt, checker, store, cred, hashing } = await given(t);
    const passwordHash = await hashing.hash('device-password-3');
    await store.updateCredential(PROVIDER_ACCOUNT_ID, cred.id, { passwordHash }, SYSTEM_ACTOR);
    checker.passwordSet(cred.id, passwordHash, 'device-password-3');
    assert.equal((await verify('device-password-3')).ok, true);
    assert.equal(scrypt.calls, 0, 'the first connect of a freshly set password ran no scrypt');
    checker.credentialChanged(cred.id);
    assert.equal((await verify('device-password-3')).ok, true);
    assert.equal(scrypt.calls, 1);
  });
});

describe('credential inspection for a dry run (SQLite)', () => {
  it('wrong passwords inspected count nothing: the device is not locked out, and nothing is remembered', async (t) => {
    const { checker, verify, verified, who } = await given(t);
    const refused = { ok: false, reason: 'BAD_CREDENTIALS', ...who, ancestry: [PROVIDER_ACCOUNT_ID], passwordChecked: true };
    // maxFailures 3 in this test: five wrong passwords would lock a connecting device out
    for (let i = 1; i <= 5; i++) assert.deepEqual(await checker.inspect({ key: 'device-1', password: `wrong-password-${i}`, withinAccount: PROVIDER_ACCOUNT_ID }), refused);
    assert.deepEqual(await checker.inspect({ key: 'device-1', password: PASSWORD, withinAccount: PROVIDER_ACCOUNT_ID }), { ok: true, ...who, settings: DEFAULT_SETTINGS, ancestry: [PROVIDER_ACCOUNT_ID], requireCertificate: false, passwordChecked: true });
    assert.equal(verified.size, 0, 'the inspected password was not remembered');
    assert.equal((await verify(PASSWORD)).ok, true, 'the device itself still gets in');
  });

  it('without a password, the credential is answered as if it matched (its state still decides), and says so', async (t) => {
    const { checker, store, cred, who, scrypt } = await given(t);
    assert.deepEqual(await checker.inspect({ key: 'device-1', withinAccount: PROVIDER_ACCOUNT_ID }), { ok: true, ...who, settings: DEFAULT_SETTINGS, ancestry: [PROVIDER_ACCOUNT_ID], requireCertificate: false, passwordChecked: false });
    await store.updateCredential(PROVIDER_ACCOUNT_ID, cred.id, { enabled: false }, SYSTEM_ACTOR);
    assert.deepEqual(await checker.inspect({ key: 'device-1', withinAccount: PROVIDER_ACCOUNT_ID }), { ok: false, reason: 'CREDENTIAL_DISABLED', ...who, ancestry: [PROVIDER_ACCOUNT_ID], passwordChecked: false });
    assert.equal(scrypt.calls, 0);
  });

  it('a credential outside the account asked about is answered as unknown, naming nothing', async (t) => {
    const { checker, store } = await given(t);
    const a = await store.createAccount({ name: 'tenant-a', parentId: PROVIDER_ACCOUNT_ID }, SYSTEM_ACTOR);
    const b = await store.createAccount({ name: 'tenant-b', parentId: PROVIDER_ACCOUNT_ID }, SYSTEM_ACTOR);
    await store.createCredential(b.id, { username: 'b-sensor', passwordHash: 'unused', enabled: true, expiresAt: null }, SYSTEM_ACTOR);
    const unknown = { ok: false, reason: 'BAD_CREDENTIALS', passwordChecked: false };
    assert.deepEqual(await checker.inspect({ key: 'b-sensor', withinAccount: a.id }), unknown);
    assert.deepEqual(await checker.inspect({ key: 'b-sensor', password: 'whatever-password', withinAccount: a.id }), unknown);
    assert.deepEqual(await checker.inspect({ key: 'no-such-user', withinAccount: a.id }), unknown);
    // from above (the provider) and from its own account, it is found
    assert.equal((await checker.inspect({ key: 'b-sensor', withinAccount: PROVIDER_ACCOUNT_ID })).accountId, b.id);
    assert.equal((await checker.inspect({ key: 'b-sensor', withinAccount: b.id })).ok, true);
  });

  it('a device locked out by real failures is answered RATE_LIMITED, unless its chain verified', async (t) => {
    const { store, who } = await given(t);
    // a username-wide bound of 2 failures (from any address), so two addresses lock it
    const strict = await CredentialChecker.create(store, {
      limits: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000, maxFailuresPerUsername: 2 },
      verified: new VerifiedPasswords({ maxEntries: 10, ttlMs: 60_000 }),
      hashing: { hash: (p) => hashPassword(p, TEST_LOG2_N), verify: verifyPassword },
    });
    await strict.verify({ key: 'device-1', password: 'wrong-password-1', sourceAddress: '198.51.100.1' });
    await strict.verify({ key: 'device-1', password: 'wrong-password-2', sourceAddress: '198.51.100.2' });
    assert.deepEqual(await strict.inspect({ key: 'device-1', password: PASSWORD, withinAccount: PROVIDER_ACCOUNT_ID }), { ok: false, reason: 'RATE_LIMITED', ...who, ancestry: [PROVIDER_ACCOUNT_ID], passwordChecked: false });
    assert.equal((await strict.inspect({ key: 'device-1', password: PASSWORD, withinAccount: PROVIDER_ACCOUNT_ID, chainVerified: true })).ok, true);
  });
});
