import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { AuditEvent, DEFAULT_SETTINGS, type Account, type Credential, type TokenInfo } from '@twoway/contracts';
import { accountCreated, changedFields, credentialChanged, settingsChanged, tokenCreated, tokenRevoked, type EventContext, type Outgoing } from './events.js';

const ctx = (): EventContext => {
  let n = 0;
  return { newId: () => `id-${++n}`, now: new Date('2026-01-03T00:00:00Z'), actor: { kind: 'token', id: 'tok-1', name: 'alice', accountId: 'acme' } };
};
const path = ['plant', 'acme', 'provider'];
const account: Account = { id: 'plant', name: 'Plant 1', parentId: 'acme', createdAt: '2026-01-03T00:00:00.000Z' };
const cred: Credential = { id: 'cred-1', accountId: 'plant', username: 'sensor-1', enabled: true, expiresAt: null, createdAt: '2026-01-03T00:00:00.000Z', requireCertificate: false };
const token: TokenInfo = { id: 'tok-2', accountId: 'plant', name: 'ci', role: 'provisioner', expiresAt: null, revokedAt: null, createdAt: '2026-01-03T00:00:00.000Z' };
const auditOf = (out: Outgoing[]) => out.find((o) => o.subject.startsWith('twoway.v1.audit.'))!.event as AuditEvent;
const changeOf = (out: Outgoing[]) => out.find((o) => !o.subject.startsWith('twoway.v1.audit.'))?.event as Record<string, unknown> | undefined;

// Regression: subtree audit queries missed sub-accounts' settings, credential, token and account
// events because they were published without `accountPath`.
describe('account-settings audit events carry the account path', () => {
  const cases: [string, (c: EventContext) => Outgoing[], string][] = [
    ['account.created', (c) => accountCreated(c, account, path), 'twoway.v1.audit.account.created'],
    ['settings.changed', (c) => settingsChanged(c, 'plant', path, DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, tls: { enabled: false } }), 'twoway.v1.audit.settings.changed'],
    ['credential.added', (c) => credentialChanged(c, path, 'added', undefined, cred), 'twoway.v1.audit.credential.added'],
    ['credential.changed', (c) => credentialChanged(c, path, 'updated', cred, { ...cred, enabled: false }), 'twoway.v1.audit.credential.changed'],
    ['credential.removed', (c) => credentialChanged(c, path, 'removed', cred, undefined), 'twoway.v1.audit.credential.removed'],
    ['token.created', (c) => tokenCreated(c, path, token), 'twoway.v1.audit.token.created'],
    ['token.revoked', (c) => tokenRevoked(c, path, token, { ...token, revokedAt: '2026-01-03T00:00:00.000Z' }), 'twoway.v1.audit.token.revoked'],
  ];
  for (const [type, build, subject] of cases) {
    it(`given a ${type} in a sub-account, then its audit event carries the ancestry and the change event does not`, () => {
      const out = build(ctx());
      const audit = auditOf(out);
      assert.equal(out.find((o) => o.event === audit)!.subject, subject);
      assert.deepEqual([audit.type, audit.account, audit.accountPath], [type, 'plant', path]);
      assert.ok(Value.Check(AuditEvent, audit), JSON.stringify([...Value.Errors(AuditEvent, audit)]));
      // The change contracts (brokers read them) are unchanged.
      assert.equal(changeOf(out)?.accountPath, undefined);
    });
  }

  it('given an ancestry that is not the account’s, then no path rather than an event the store would refuse', () => {
    const audit = auditOf(settingsChanged(ctx(), 'plant', ['acme', 'provider'], DEFAULT_SETTINGS, DEFAULT_SETTINGS));
    assert.equal(audit.account, 'plant');
    assert.equal('accountPath' in audit, false);
  });
});

// Brokers end a credential's sessions for what they cannot check again without the password, and only
// re-decide them when nothing but the certificate requirement changed: the list must say exactly that.
describe('what a credential update touched', () => {
  const cases: [string, Credential, boolean, string[]][] = [
    ['only the requirement', { ...cred, requireCertificate: true }, false, ['requireCertificate']],
    ['a password sent, even the same one', cred, true, ['password']],
    ['disabled and required at once', { ...cred, enabled: false, requireCertificate: true }, false, ['enabled', 'requireCertificate']],
    ['an expiry', { ...cred, expiresAt: '2027-01-01T00:00:00.000Z' }, false, ['expiresAt']],
    ['nothing', cred, false, []],
  ];
  for (const [name, after, passwordSent, want] of cases) {
    it(`given ${name}, then changed is ${JSON.stringify(want)} and the change event carries it with the requirement after`, () => {
      assert.deepEqual(changedFields(cred, after, passwordSent), want);
      const ev = changeOf(credentialChanged(ctx(), path, 'updated', cred, after, undefined, changedFields(cred, after, passwordSent)));
      assert.deepEqual(ev?.data, { credentialId: 'cred-1', username: 'sensor-1', change: 'updated', requireCertificate: after.requireCertificate, changed: want });
    });
  }
});
