import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuditEvent, ConnectReasons } from '@twoway/contracts';
import { decode, encode } from '@twoway/nats';
import { connectEvent, deviceCertExpiringEvent, sessionEndedEvent, type DeviceRecord } from './audit.js';
import type { Decision } from './decide.js';

const ctx = { source: 'broker-0', nowMs: Date.parse('2026-11-23T10:00:00.000Z') };
const device = (o: Partial<DeviceRecord> = {}): DeviceRecord => ({
  clientId: 'sensor-1',
  username: 'sensor-1',
  leaf: undefined,
  sourceAddress: '203.0.113.7',
  accountId: 'plant',
  ancestry: ['plant', 'acme', 'provider'],
  ...o,
});
/** As the audit store will decode it (throws with the problems when it does not match the contract). */
const valid = (ev: AuditEvent): boolean => !!decode(AuditEvent, encode(ev), 'twoway.v1.audit.test');
const accepted: Decision = { outcome: 'accepted', type: 'connect.accepted', reason: ConnectReasons.PLAIN_TLS, mode: 'plain' };
const rejected: Decision = { outcome: 'rejected', type: 'connect.rejected', reason: ConnectReasons.BAD_CREDENTIALS, returnCode: 4 };

// Regression: subtree audit queries missed sub-accounts' connect and session events because the
// broker published them without `accountPath`.
describe('broker audit events carry the account path', () => {
  it('given an accepted connect of a sub-account, then the event carries its ancestry, self first', () => {
    const ev = connectEvent(accepted, device(), { kind: 'none' }, 'tls', ctx);
    assert.equal(ev.account, 'plant');
    assert.deepEqual(ev.accountPath, ['plant', 'acme', 'provider']);
    assert.ok(valid(ev));
  });

  it('given a refused credential whose account is known, then the rejection carries the path too', () => {
    const ev = connectEvent(rejected, device(), { kind: 'none' }, 'tls', ctx);
    assert.deepEqual([ev.type, ev.account, ev.accountPath], ['connect.rejected', 'plant', ['plant', 'acme', 'provider']]);
  });

  it('given a connect that could not be attributed, then neither account nor path', () => {
    const ev = connectEvent(rejected, device({ accountId: undefined, ancestry: undefined }), { kind: 'none' }, 'tls', ctx);
    assert.equal(ev.account, null);
    assert.equal('accountPath' in ev, false);
    assert.ok(valid(ev));
  });

  it('given an ancestry that is not the account’s, then no path (the store would refuse the event)', () => {
    const ev = connectEvent(accepted, device({ ancestry: ['acme', 'provider'] }), { kind: 'none' }, 'tls', ctx);
    assert.equal(ev.account, 'plant');
    assert.equal('accountPath' in ev, false);
  });

  it('given a session ended by a change, then session.ended carries the ancestry the session kept', () => {
    const ev = sessionEndedEvent(ConnectReasons.SESSION_CERT_STATUS_CHANGED, device(), ctx, { fingerprint: 'ab' });
    assert.deepEqual([ev.type, ev.outcome, ev.account, ev.accountPath], ['session.ended', 'ended', 'plant', ['plant', 'acme', 'provider']]);
    assert.ok(valid(ev));
  });
});

describe('a refusal by the credential’s certificate requirement says why the chain did not count', () => {
  const required: Decision = { outcome: 'rejected', type: 'connect.rejected', reason: ConnectReasons.CREDENTIAL_REQUIRES_CERTIFICATE, returnCode: 5 };
  const leaf = { fingerprint: 'aa', subject: 'CN=x', commonName: 'x', sans: [] };
  const cases: [string, Parameters<typeof connectEvent>[2], string | undefined][] = [
    ['no certificate', { kind: 'none' }, 'CHAIN_EMPTY'],
    ['an untrusted one', { kind: 'untrusted', reason: ConnectReasons.CHAIN_UNTRUSTED, leaf }, 'CHAIN_UNTRUSTED'],
    // Mutual TLS off: the chain was not evaluated, so there is no chain reason to give.
    ['one not evaluated', { kind: 'not_evaluated', leaf }, undefined],
  ];
  for (const [name, chain, want] of cases) {
    it(`given ${name}, then detail.chainReason is ${want ?? 'absent'}`, () => {
      const ev = connectEvent(required, device(), chain, 'tls', ctx);
      assert.equal(ev.detail?.chainReason, want);
      assert.ok(valid(ev));
    });
  }
  it('given any other refusal, then no chainReason', () => {
    assert.equal('chainReason' in (connectEvent(rejected, device(), { kind: 'none' }, 'tls', ctx).detail ?? {}), false);
  });
});

describe('device.cert_expiring', () => {
  it('given an admitted device with an expiring leaf, then its identity, path and each certificate, escaped', () => {
    const leaf = { fingerprint: 'ab'.repeat(32), subject: 'CN=sensor-1\n', commonName: 'sensor-1', sans: [] };
    const notAfter = new Date('2026-11-30T10:00:00.000Z');
    const ev = deviceCertExpiringEvent(device({ leaf }), [{ role: 'leaf', fingerprint: leaf.fingerprint, subject: 'CN=sensor-1\n', notAfter, daysLeft: 7 }], 30, 'tls', { ...ctx, traceId: 't-1' });
    assert.deepEqual([ev.type, ev.account, ev.accountPath, ev.actor, ev.traceId, ev.outcome, ev.reason], ['device.cert_expiring', 'plant', ['plant', 'acme', 'provider'], { kind: 'device', id: 'sensor-1' }, 't-1', undefined, undefined]);
    assert.equal(ev.device?.certificateFingerprint, leaf.fingerprint);
    assert.deepEqual(ev.detail, {
      transport: 'tls',
      windowDays: 30,
      certificates: [{ role: 'leaf', fingerprint: leaf.fingerprint, subject: 'CN=sensor-1\\u000a', notAfter: '2026-11-30T10:00:00.000Z', daysLeft: 7 }],
    });
    assert.ok(valid(ev));
  });
});
