// CRLs and revoked serials through the real broker over real TLS with real MQTT clients (fake owners on
// NATS, broker.fixture.ts): a device whose serial its CA revoked is refused with the reason, one not
// listed is admitted, a revocation ends live sessions on every replica, stale CRLs under both policies,
// and 100,000 serials read in pages.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ChangeSubjects, type AuditEvent, type Settings } from '@twoway/contracts';
import { normalizeSerial, type Issued } from '@twoway/pki';
import { waitFor } from '@twoway/testing';
import { PASSWORD, connack, sessionClosed, settingsOf, startFixture, type Attempt, type Fixture } from './broker.fixture.js';
import { natsCluster, type RunningBroker } from './service.js';

const DAY_MS = 86_400_000;
const fresh = () => ({ thisUpdate: new Date(Date.now() - DAY_MS).toISOString(), nextUpdate: new Date(Date.now() + 6 * DAY_MS).toISOString() });
const stale = () => ({ thisUpdate: new Date(Date.now() - 9 * DAY_MS).toISOString(), nextUpdate: new Date(Date.now() - 2 * DAY_MS).toISOString() });
const serialOf = (d: Issued) => normalizeSerial(d.cert.serial)!;
const withStaleCrl = (s: Settings, staleCrl: 'accept' | 'refuse'): Settings => ({ ...s, revocation: { staleCrl } });

describe('broker: CRLs and revoked serials', () => {
  let fx: Fixture;
  let b2: RunningBroker;
  const dev: Record<string, Issued> = {};

  before(async () => {
    fx = await startFixture({}, { cluster: natsCluster });
    b2 = await fx.startReplica('broker-2');
    // acc-crl: the intermediate registered (the path ends there, its CRL covers the devices).
    // acc-root: only the root registered (the path goes through the intermediate the device sends).
    for (const acc of ['acc-crl', 'acc-root', 'acc-stale', 'acc-pages']) fx.accounts[acc] = settingsOf(false, true);
    fx.register('crl-inter', fx.pki.intermediate, 'VALID', 'acc-crl');
    fx.register('root-only', fx.pki.root, 'VALID', 'acc-root');
    fx.register('stale-inter', fx.pki.intermediate, 'VALID', 'acc-stale');
    fx.register('pages-inter', fx.pki.intermediate, 'VALID', 'acc-pages');
    for (const [name, account] of [['listed', 'acc-crl'], ['clean', 'acc-crl'], ['live', 'acc-crl'], ['bystander', 'acc-crl'], ['byserial', 'acc-crl'], ['rooted', 'acc-root'], ['stale', 'acc-stale'], ['paged', 'acc-pages']] as const) {
      dev[name] = await fx.pki.device(`crl-${name}`);
      fx.credentials.set(`crl-${name}`, { accountId: account, id: `cred-crl-${name}` });
    }
    await fx.setRevocation('crl-inter', { crl: [serialOf(dev.listed!), 'abcdef'], crlDates: fresh() }, 'crl_updated');
  });
  after(async () => {
    await fx?.stop();
  });

  async function connectAs(name: string, on: RunningBroker = fx.broker): Promise<{ a: Attempt; clientId: string }> {
    const clientId = `crl-${name}-${randomUUID()}`;
    const a = await fx.attemptOn(on, { clientId, device: dev[name]!, username: `crl-${name}`, password: PASSWORD });
    return { a, clientId };
  }
  /** Connect once, expect CONNACK 0, disconnect; the accept event. */
  async function admitted(name: string): Promise<AuditEvent> {
    const { a, clientId } = await connectAs(name);
    try {
      assert.deepEqual({ ...a.connack }, connack(0), `${name} admitted`);
      return await fx.auditFor(clientId, 'connect.accepted');
    } finally {
      await fx.end(a);
    }
  }
  /** Connect once, expect CONNACK 5 with `reason` in the audit event; the refusal event. */
  async function refused(name: string, reason: string): Promise<AuditEvent> {
    const { a, clientId } = await connectAs(name);
    try {
      assert.deepEqual({ ...a.connack }, connack(5), `${name} refused`);
      const ev = await fx.auditFor(clientId, 'connect.rejected');
      assert.equal(ev.reason, reason);
      return ev;
    } finally {
      await fx.end(a);
    }
  }

  it('refuses a device its CA\'s CRL lists (CERT_REVOKED_BY_CRL, the serial in the audit event) and admits one it does not list', async () => {
    const ev = await refused('listed', 'CERT_REVOKED_BY_CRL');
    assert.equal(ev.detail?.blockedSerial, serialOf(dev.listed!));
    assert.equal(ev.detail?.blockedFingerprint, dev.listed!.cert.fingerprint);
    assert.equal((await admitted('clean')).reason, 'MUTUAL_TLS');
  });

  it('refuses an intermediate the root revoked, below a registered root (every certificate of the path is checked)', async () => {
    await fx.setRevocation('root-only', { crl: [serialOf(fx.pki.intermediate)], crlDates: fresh() }, 'crl_updated');
    const ev = await refused('rooted', 'CERT_REVOKED_BY_CRL');
    assert.equal(ev.detail?.blockedFingerprint, fx.pki.intermediate.cert.fingerprint);
  });

  it('a CRL that lists a live device ends its session on every replica; the other devices of that CA keep theirs', async () => {
    const one = await connectAs('live', fx.broker);
    const two = await connectAs('live', b2);
    const other = await connectAs('bystander', b2);
    try {
      for (const s of [one, two, other]) assert.deepEqual({ ...s.a.connack }, connack(0));
      const gone = Promise.all([sessionClosed(one.a), sessionClosed(two.a)]);
      await fx.setRevocation('crl-inter', { crl: [serialOf(dev.listed!), 'abcdef', serialOf(dev.live!)], crlDates: fresh() }, 'crl_updated');
      await gone;
      for (const s of [one, two]) {
        const ev = await fx.auditFor(s.clientId, 'session.ended');
        assert.equal(ev.reason, 'SESSION_CERT_STATUS_CHANGED');
        assert.equal(ev.detail?.decision, 'CERT_REVOKED_BY_CRL');
        assert.equal(ev.detail?.change, 'crl_updated');
      }
      assert.equal(other.a.client.connected, true, 'a device the CRL does not list keeps its session');
      await refused('live', 'CERT_REVOKED_BY_CRL');
    } finally {
      for (const s of [one, two, other]) await fx.end(s.a);
    }
  });

  it('revoking one serial (no certificate uploaded) ends that device\'s session and refuses it CERT_SERIAL_REVOKED; restoring admits it again', async () => {
    const live = await connectAs('byserial');
    try {
      assert.deepEqual({ ...live.a.connack }, connack(0));
      const gone = sessionClosed(live.a);
      const crl = [serialOf(dev.listed!), 'abcdef', serialOf(dev.live!)];
      await fx.setRevocation('crl-inter', { crl, manual: [serialOf(dev.byserial!)], crlDates: fresh() }, 'serial_revoked');
      await gone;
      assert.equal((await fx.auditFor(live.clientId, 'session.ended')).detail?.decision, 'CERT_SERIAL_REVOKED');
      await refused('byserial', 'CERT_SERIAL_REVOKED');
      await fx.setRevocation('crl-inter', { crl, crlDates: fresh() }, 'serial_restored');
      await admitted('byserial');
    } finally {
      await fx.end(live.a);
    }
  });

  it('a stale CRL: accepted with a warning in the audit event by default; refused CRL_STALE when the account refuses stale CRLs, and switching to refuse ends the session', async () => {
    await fx.setRevocation('stale-inter', { crl: ['abcdef'], crlDates: stale() }, 'crl_updated');
    const accepted = await connectAs('stale');
    try {
      assert.deepEqual({ ...accepted.a.connack }, connack(0));
      const ev = await fx.auditFor(accepted.clientId, 'connect.accepted');
      assert.deepEqual(ev.detail?.staleCrl, { fingerprint: fx.pki.intermediate.cert.fingerprint, nextUpdate: fx.registry.find((e) => e.id === 'stale-inter')!.revocation!.crl!.nextUpdate });
      assert.ok(fx.broker.metrics.staleCrlAccepted.get() >= 1);

      const before = fx.accounts['acc-stale']!;
      fx.accounts['acc-stale'] = withStaleCrl(before, 'refuse');
      const gone = sessionClosed(accepted.a);
      await fx.publishChange(ChangeSubjects.SettingsChanged, 'settings.changed', 'acc-stale', { before, after: fx.accounts['acc-stale'] });
      await gone;
      assert.equal((await fx.auditFor(accepted.clientId, 'session.ended')).detail?.decision, 'CRL_STALE');
      const rej = await refused('stale', 'CRL_STALE');
      assert.equal(rej.detail?.blockedFingerprint, fx.pki.intermediate.cert.fingerprint);

      // A fresh CRL is in again, under the refusing policy.
      await fx.setRevocation('stale-inter', { crl: ['abcdef'], crlDates: fresh() }, 'crl_updated');
      await admitted('stale');
    } finally {
      await fx.end(accepted.a);
    }
  });

  it('reads 100,000 revoked serials in pages, refuses a device listed on the last one once its CA\'s new CRL is applied in place, and does not read them again for an unrelated change', async () => {
    fx.serialPageSize = 15_000;
    // 100,000 serials just below the device's (same length, so they sort before it): it arrives on the last page.
    const last = serialOf(dev.paged!);
    const serials = Array.from({ length: 100_000 }, (_, i) => (BigInt(`0x${last}`) - BigInt(i + 1)).toString(16));
    await fx.setRevocation('pages-inter', { crl: serials, crlDates: fresh() }, 'crl_updated');
    const before = fx.revokedSerialsRequests;
    await admitted('paged');
    assert.equal(fx.revokedSerialsRequests - before, 7, 'read in 7 pages of 15,000');
    // The CA's new CRL: the cached trust set is updated in place, and only the new list is read (once).
    const [sets0, read0] = [fx.trustSetRequests, fx.revokedSerialsRequests];
    const applied = () => (['live', 'stream'] as const).reduce((n, path) => n + fx.broker.metrics.changesApplied.get({ type: 'cert.revocation_changed', path }), 0);
    const applied0 = applied();
    await fx.setRevocation('pages-inter', { crl: [...serials, last], crlDates: fresh() }, 'crl_updated');
    await waitFor(() => applied() > applied0, { what: 'the revocation change applied' });
    await refused('paged', 'CERT_REVOKED_BY_CRL');
    assert.equal(fx.trustSetRequests, sets0, 'the trust set was updated in place, not fetched again');
    assert.equal(fx.revokedSerialsRequests - read0, 7, 'the new list read once, in 7 pages');

    // Another registration in the account changes: the trust set is rebuilt, the list (same revision) is not read again.
    const [read, sets] = [fx.revokedSerialsRequests, fx.trustSetRequests];
    fx.register('pages-root', fx.pki.root, 'VALID', 'acc-pages');
    const t = new Date().toISOString();
    await fx.publishChange(ChangeSubjects.CertAdded, 'cert.added', 'acc-pages', { after: { id: 'pages-root', accountId: 'acc-pages', name: 'r', usage: 'MUTUAL_AUTHENTICATION', status: 'VALID', fingerprint: fx.pki.root.cert.fingerprint, subject: 's', issuer: 'i', serial: '1', notBefore: t, notAfter: t, kind: 'root', keyType: 'EC P-256', createdAt: t, updatedAt: t } });
    await waitFor(() => fx.trustSetRequests > sets, { what: 'the trust set rebuilt after the change' });
    await refused('paged', 'CERT_REVOKED_BY_CRL');
    assert.equal(fx.revokedSerialsRequests, read, 'the cached list of this revision served the rebuilt trust set');
  });
});
