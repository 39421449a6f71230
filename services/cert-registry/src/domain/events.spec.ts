import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { AuditEvent, CertAddedEvent, CertDeletedEvent, CertStatusChangedEvent, type Certificate } from '@twoway/contracts';
import { certAdded, certDeleted, certExpiryNotice, certStatusChanged, type EventContext } from './events.js';

const cert: Certificate = {
  id: '0b6f0e8e-4a57-4c55-9b0f-1d2b8c7a1e10',
  accountId: 'acct-a',
  name: 'Fleet root',
  usage: 'MUTUAL_AUTHENTICATION',
  status: 'SUSPENDED',
  fingerprint: 'ab'.repeat(32),
  subject: 'CN=root',
  issuer: 'CN=root',
  serial: '01',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2036-01-01T00:00:00.000Z',
  kind: 'root',
  keyType: 'EC P-256',
  createdAt: '2026-01-02T00:00:00.000Z',
  updatedAt: '2026-01-03T00:00:00.000Z',
};
const ctx = (): EventContext => {
  let n = 0;
  return { actor: { kind: 'token', id: 'tok-1', name: 'alice', accountId: 'acct-a' }, now: new Date('2026-01-03T00:00:00Z'), newId: () => `id-${++n}` };
};
const detail = { name: 'Fleet root', fingerprint: cert.fingerprint, subject: 'CN=root', kind: 'root' };
const common = { time: '2026-01-03T00:00:00.000Z', account: 'acct-a', actor: ctx().actor };

describe('certificate events', () => {
  it('given an added certificate, when described, then the change carries the certificate and the audit only its status', () => {
    const f = certAdded(cert, ctx());
    assert.deepEqual(f.change, { subject: 'twoway.v1.cert.added', event: { id: 'id-1', type: 'cert.added', ...common, data: { after: cert } } });
    assert.deepEqual(f.audit, {
      subject: 'twoway.v1.audit.cert.added',
      event: { id: 'id-2', type: 'cert.added', ...common, certificateId: cert.id, source: 'cert-registry', after: 'SUSPENDED', detail },
    });
    assert.ok(Value.Check(CertAddedEvent, f.change.event) && Value.Check(AuditEvent, f.audit.event));
  });

  it('given a status change, when described, then both events carry before and after', () => {
    const f = certStatusChanged(cert, 'VALID', ctx());
    assert.deepEqual(f.change.event.data, { certificateId: cert.id, fingerprint: cert.fingerprint, before: 'VALID', after: 'SUSPENDED' });
    assert.equal(f.change.subject, 'twoway.v1.cert.status_changed');
    assert.deepEqual([f.audit.subject, f.audit.event.before, f.audit.event.after], ['twoway.v1.audit.cert.status_changed', 'VALID', 'SUSPENDED']);
    assert.ok(Value.Check(CertStatusChangedEvent, f.change.event) && Value.Check(AuditEvent, f.audit.event));
  });

  it('given a deletion, when described, then the change carries the last state and the audit the last status', () => {
    const f = certDeleted(cert, ctx());
    assert.deepEqual(f.change.event.data, { certificateId: cert.id, fingerprint: cert.fingerprint, before: cert });
    assert.deepEqual([f.audit.subject, f.audit.event.before, f.audit.event.after], ['twoway.v1.audit.cert.deleted', 'SUSPENDED', undefined]);
    assert.ok(Value.Check(CertDeletedEvent, f.change.event) && Value.Check(AuditEvent, f.audit.event));
  });

  // Regression: subtree audit queries missed sub-accounts' certificate changes because the events
  // were published without `accountPath`.
  it('given the ancestry the request resolved, when described, then every audit event carries it and no change event does', () => {
    const withPath = (): EventContext => ({ ...ctx(), accountPath: ['acct-a', 'root'] });
    for (const f of [certAdded(cert, withPath()), certStatusChanged(cert, 'VALID', withPath()), certDeleted(cert, withPath())]) {
      assert.deepEqual(f.audit.event.accountPath, ['acct-a', 'root']);
      assert.ok(Value.Check(AuditEvent, f.audit.event));
      assert.equal('accountPath' in f.change.event, false);
    }
  });

  it('given an ancestry of another account or none, when described, then no path (never an event the store would refuse)', () => {
    assert.equal('accountPath' in certAdded(cert, { ...ctx(), accountPath: ['acct-b', 'root'] }).audit.event, false);
    assert.equal('accountPath' in certAdded(cert, ctx()).audit.event, false);
  });

  it('given a registration within the expiry window, when noticed, then an audit event by the registry with its notAfter, status, days left and window', () => {
    const now = new Date('2035-12-22T00:00:00.000Z');
    const { subject, event } = certExpiryNotice(cert, 'expiring', 30, { now, newId: () => 'id-9', accountPath: ['acct-a', 'root'] });
    assert.equal(subject, 'twoway.v1.audit.cert.expiring');
    assert.deepEqual(event, {
      id: 'id-9',
      type: 'cert.expiring',
      time: now.toISOString(),
      account: 'acct-a',
      accountPath: ['acct-a', 'root'],
      actor: { kind: 'system', id: 'cert-registry' },
      certificateId: cert.id,
      source: 'cert-registry',
      detail: { ...detail, status: 'SUSPENDED', notAfter: '2036-01-01T00:00:00.000Z', daysLeft: 10, windowDays: 30 },
    });
    assert.ok(Value.Check(AuditEvent, event));
    const expired = certExpiryNotice(cert, 'expired', 30, { now: new Date('2036-01-02T00:00:00.000Z'), newId: () => 'id-10' });
    assert.deepEqual([expired.subject, expired.event.type, expired.event.detail?.daysLeft, 'accountPath' in expired.event], ['twoway.v1.audit.cert.expired', 'cert.expired', -1, false]);
  });
});
