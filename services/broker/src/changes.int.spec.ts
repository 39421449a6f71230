// Settings and credential changes reach live sessions, and a broker cut off from NATS fails closed,
// then resynchronises: a certificate revoked while it was away does not keep its session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ChangeSubjects, RequestSubjects } from '@twoway/contracts';
import { waitFor } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { PASSWORD, connack, settingsOf, startFixture, type Fixture } from './broker.fixture.js';

describe('broker: settings and credential changes, NATS outage', () => {
  let fx: Fixture;
  let device: Issued;

  before(async () => {
    fx = await startFixture({ TWOWAY_STALE_AFTER_MS: '300', TWOWAY_CONNECT_DEADLINE_MS: '1000' });
    fx.accounts['acc-set'] = settingsOf(true, true);
    fx.accounts['acc-cred'] = settingsOf(true, false);
    fx.accounts['acc-out'] = settingsOf(false, true);
    fx.credentials.set('dev-set', { accountId: 'acc-set', id: 'cred-set' });
    fx.credentials.set('dev-cred', { accountId: 'acc-cred', id: 'cred-cred' });
    fx.credentials.set('dev-out', { accountId: 'acc-out', id: 'cred-out' });
    fx.credentials.set('dev-slow', { accountId: 'acc-cred', id: 'cred-slow', delayMs: 1500 });
    fx.accounts['acc-und'] = settingsOf(false, true);
    fx.credentials.set('dev-und', { accountId: 'acc-und', id: 'cred-und' });
    fx.accounts['acc-refill'] = settingsOf(false, true);
    fx.credentials.set('dev-refill', { accountId: 'acc-refill', id: 'cred-refill' });
    fx.register('root', fx.pki.root, 'VALID');
    fx.register('inter', fx.pki.intermediate, 'VALID');
    device = await fx.pki.device('dev-out');
  });
  after(async () => {
    await fx?.stop();
  });

  it('a settings change ends the sessions that no longer qualify (fallback session, mutual TLS made mandatory)', async () => {
    const clientId = `set-${randomUUID()}`;
    const a = await fx.attempt({ clientId, username: 'dev-set', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      assert.equal((await fx.auditFor(clientId)).type, 'connect.accepted_fallback');
      const before = fx.accounts['acc-set']!;
      fx.accounts['acc-set'] = settingsOf(false, true);
      const closed = new Promise<void>((r) => a.client.once('close', () => r()));
      await fx.publishChange(ChangeSubjects.SettingsChanged, 'settings.changed', 'acc-set', { before, after: fx.accounts['acc-set'] });
      await closed;
      const ev = await fx.auditFor(clientId, 'session.ended');
      assert.equal(ev.reason, 'SESSION_SETTINGS_CHANGED');
      assert.equal(ev.detail?.decision, 'MTLS_REQUIRED');
    } finally {
      await fx.end(a);
    }
  });

  it('a credential change ends the sessions of that credential', async () => {
    const clientId = `cred-${randomUUID()}`;
    const a = await fx.attempt({ clientId, username: 'dev-cred', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const closed = new Promise<void>((r) => a.client.once('close', () => r()));
      await fx.publishChange(ChangeSubjects.CredentialChanged, 'credential.changed', 'acc-cred', { credentialId: 'cred-cred', username: 'dev-cred', change: 'updated' });
      await closed;
      assert.equal((await fx.auditFor(clientId, 'session.ended')).reason, 'SESSION_CREDENTIAL_CHANGED');
    } finally {
      await fx.end(a);
    }
  });

  it('a credential that now requires a certificate: its fallback session ends on the change, its mutual-TLS session stays, and it cannot come back on its password', async () => {
    fx.accounts['acc-req'] = settingsOf(true, true);
    fx.credentials.set('dev-req', { accountId: 'acc-req', id: 'cred-req', requireCertificate: false });
    const dev = await fx.pki.device('dev-req');
    const mutualId = `req-mutual-${randomUUID()}`;
    const fallbackId = `req-fallback-${randomUUID()}`;
    const markerId = `req-marker-${randomUUID()}`;
    const mutual = await fx.attempt({ clientId: mutualId, device: dev, username: 'dev-req', password: PASSWORD });
    const fallback = await fx.attempt({ clientId: fallbackId, username: 'dev-req', password: PASSWORD });
    const marker = await fx.attempt({ clientId: markerId, username: 'dev-cred', password: PASSWORD });
    try {
      assert.deepEqual([mutual, fallback, marker].map((a) => ({ ...a.connack })), [connack(0), connack(0), connack(0)]);
      assert.equal((await fx.auditFor(fallbackId)).type, 'connect.accepted_fallback');
      const fallbackClosed = new Promise<void>((r) => fallback.client.once('close', () => r()));
      const markerClosed = new Promise<void>((r) => marker.client.once('close', () => r()));
      fx.credentials.get('dev-req')!.requireCertificate = true;
      await fx.publishChange(ChangeSubjects.CredentialChanged, 'credential.changed', 'acc-req', { credentialId: 'cred-req', username: 'dev-req', change: 'updated', requireCertificate: true, changed: ['requireCertificate'] });
      // A change published after it: once it has ended its session, the requirement's change was applied in full.
      await fx.publishChange(ChangeSubjects.CredentialChanged, 'credential.changed', 'acc-cred', { credentialId: 'cred-cred', username: 'dev-cred', change: 'updated' });
      await fallbackClosed;
      await markerClosed;
      const ended = await fx.auditFor(fallbackId, 'session.ended');
      assert.equal(ended.reason, 'SESSION_CREDENTIAL_CHANGED');
      assert.equal(ended.detail?.decision, 'CREDENTIAL_REQUIRES_CERTIFICATE');
      assert.equal(mutual.client.connected, true, 'a session on a verified certificate satisfies the requirement');
      assert.equal(fx.audit.some((e) => e.device?.clientId === mutualId && e.type === 'session.ended'), false);

      // Back without its certificate: refused, with why the chain did not count.
      const againId = `req-again-${randomUUID()}`;
      const again = await fx.attempt({ clientId: againId, username: 'dev-req', password: PASSWORD });
      await fx.end(again);
      assert.deepEqual({ ...again.connack }, connack(5));
      const refused = await fx.auditFor(againId);
      assert.deepEqual([refused.type, refused.reason, refused.detail?.chainReason, refused.detail?.returnCode], ['connect.rejected', 'CREDENTIAL_REQUIRES_CERTIFICATE', 'CHAIN_EMPTY', 5]);
      // With it: in.
      const withCert = await fx.attempt({ clientId: `req-cert-${randomUUID()}`, device: dev, username: 'dev-req', password: PASSWORD });
      await fx.end(withCert);
      assert.deepEqual({ ...withCert.connack }, connack(0));
    } finally {
      await Promise.all([fx.end(mutual), fx.end(fallback), fx.end(marker)]);
    }
  });

  it('a change that drops a trust set fetches it again in the background (refill): the next connect finds it warm', async () => {
    const connectOnce = async () => {
      const a = await fx.attempt({ clientId: `refill-${randomUUID()}`, device, username: 'dev-refill', password: PASSWORD });
      await fx.end(a);
      assert.deepEqual({ ...a.connack }, connack(0));
    };
    await connectOnce();
    const fetched = fx.trustSetRequests;
    // Without its PEM the account's set cannot take the addition in place: it is dropped.
    await certAdded('acc-refill');
    await waitFor(() => fx.trustSetRequests > fetched, { what: 'the dropped trust set fetched again before any connect' });
    const refilled = fx.trustSetRequests;
    await connectOnce();
    assert.equal(fx.trustSetRequests, refilled, 'the connect found the set warm (or joined the refill in flight)');
  });

  it('a decision that misses the connect deadline: refused with CONNACK 5 at the deadline, audited CONNECT_TIMEOUT', async () => {
    const clientId = `slow-${randomUUID()}`;
    const a = await fx.attempt({ clientId, username: 'dev-slow', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(5), 'answered, not dropped without a word');
      const ev = await fx.auditFor(clientId);
      assert.equal(ev.type, 'connect.rejected');
      assert.equal(ev.reason, 'CONNECT_TIMEOUT');
      assert.equal(fx.broker.metrics.connectTimeouts.get({ stage: 'decision' }), 1);
    } finally {
      await fx.end(a);
    }
  });

  it('NATS away: stale after the bound (readiness false, connects UNDECIDABLE); on reconnect a certificate revoked meanwhile loses its session', async () => {
    const clientId = `out-${randomUUID()}`;
    const live = await fx.attempt({ clientId, device, username: 'dev-out', password: PASSWORD });
    const closed = new Promise<void>((r) => live.client.once('close', () => r()));
    try {
      assert.deepEqual({ ...live.connack }, connack(0));
      assert.equal(fx.broker.ready(), true);

      await fx.stopNats();
      await waitFor(async () => {
        const r = await fetch(`${fx.broker.httpUrl}/readyz`);
        const body = (await r.json()) as { checks: { fresh: boolean } };
        return r.status === 503 && body.checks.fresh === false;
      }, { what: 'stale readiness' });
      const refusedId = `out-refused-${randomUUID()}`;
      const refused = await fx.attempt({ clientId: refusedId, device, username: 'dev-out', password: PASSWORD });
      await fx.end(refused);
      assert.deepEqual({ ...refused.connack }, connack(5));
      assert.equal(live.client.connected, true, 'live sessions are kept during an outage');

      // Revoked while the broker was away, and the event never reached it.
      fx.registry.find((e) => e.id === 'inter')!.status = 'REVOKED';
      await fx.startNats();

      await closed;
      const ended = await fx.auditFor(clientId, 'session.ended');
      assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
      assert.equal(ended.detail?.decision, 'CERT_REVOKED');
      // The refusal made during the outage was queued and published once NATS came back.
      const rej = await fx.auditFor(refusedId);
      assert.equal(rej.reason, 'UNDECIDABLE');
      await waitFor(() => fx.broker.ready(), { what: 'ready again' });
      const again = await fx.attempt({ clientId: `out-again-${randomUUID()}`, device, username: 'dev-out', password: PASSWORD });
      await fx.end(again);
      assert.deepEqual({ ...again.connack }, connack(5));
    } finally {
      // Restored with its event, so the broker's cached set follows (the tests below connect through it).
      await fx.setCertStatus('inter', 'VALID');
      await fx.end(live);
    }
  });
  it('NATS away and nothing changed: on reconnect the trust set is checked by its digest and kept, not fetched again, and its session stays', async () => {
    const clientId = `kept-${randomUUID()}`;
    const live = await fx.attempt({ clientId, device, username: 'dev-out', password: PASSWORD });
    try {
      assert.deepEqual({ ...live.connack }, connack(0));
      const fetches = fx.trustSetRequests;
      const digests = fx.trustDigestRequests;
      await fx.stopNats();
      await waitFor(() => !fx.broker.ready(), { what: 'not ready while NATS is away' });
      await fx.startNats();
      await waitFor(() => fx.broker.ready(), { what: 'ready again' });
      assert.ok(fx.trustDigestRequests > digests, 'the cached set was checked against the registry');
      assert.equal(fx.trustSetRequests, fetches, 'an unchanged set is not fetched again');
      assert.equal(live.client.connected, true);
      const again = await fx.attempt({ clientId: `kept-again-${randomUUID()}`, device, username: 'dev-out', password: PASSWORD });
      await fx.end(again);
      assert.deepEqual({ ...again.connack }, connack(0));
      assert.equal(fx.trustSetRequests, fetches, 'the next connect is decided on the kept set');
    } finally {
      await fx.end(live);
    }
  });

  /** A `cert.added` for the account: the broker drops the account's trust set (and refills it in the background). */
  const certAdded = (account: string) => {
    const t = new Date().toISOString();
    return fx.publishChange(ChangeSubjects.CertAdded, 'cert.added', account, {
      after: {
        id: `other-${randomUUID()}`, accountId: account, name: 'other', usage: 'MUTUAL_AUTHENTICATION', status: 'VALID', fingerprint: 'ab'.repeat(32),
        subject: 'CN=other', issuer: 'CN=other', serial: '01', notBefore: t, notAfter: t, kind: 'leaf', keyType: 'EC P-256', createdAt: t, updatedAt: t,
      },
    });
  };

  it('fail closed: a session that cannot be re-decided after a settings change is retried, then ended SESSION_UNDECIDABLE; later changes still apply', async () => {
    const device = await fx.pki.device('dev-und');
    const clientId = `und-${randomUUID()}`;
    const credId = `und-cred-${randomUUID()}`;
    const live = await fx.attempt({ clientId, device, username: 'dev-und', password: PASSWORD });
    const other = await fx.attempt({ clientId: credId, username: 'dev-cred', password: PASSWORD });
    const otherClosed = new Promise<void>((r) => other.client.once('close', () => r()));
    try {
      assert.deepEqual({ ...live.connack }, connack(0));
      assert.deepEqual({ ...other.connack }, connack(0));
      fx.failing.add(RequestSubjects.TrustSetGet);
      await certAdded('acc-und');
      const before = fx.accounts['acc-und']!;
      await fx.publishChange(ChangeSubjects.SettingsChanged, 'settings.changed', 'acc-und', { before, after: before });
      // The retries run beside the feed: a credential change published after it ends its session first.
      await fx.publishChange(ChangeSubjects.CredentialChanged, 'credential.changed', 'acc-cred', { credentialId: 'cred-cred', username: 'dev-cred', change: 'updated' });
      await otherClosed;
      await waitFor(() => live.client.disconnected || !live.client.connected, { what: 'the undecidable session to end' });
      const ev = await fx.auditFor(clientId, 'session.ended');
      assert.equal(ev.reason, 'SESSION_UNDECIDABLE');
      assert.equal(ev.detail?.decision, 'UNDECIDABLE');
      assert.equal(ev.detail?.error, 'INTERNAL');
      assert.ok(fx.audit.findIndex((e) => e.device?.clientId === credId && e.type === 'session.ended') < fx.audit.indexOf(ev), 'the later change was not held back');
    } finally {
      fx.failing.delete(RequestSubjects.TrustSetGet);
      await Promise.all([fx.end(live), fx.end(other)]);
    }
  });

  it('fail closed: after a NATS outage a session whose owner does not answer is ended SESSION_UNDECIDABLE at the bound, and readiness returns', async () => {
    const device = await fx.pki.device('dev-und');
    const clientId = `und-resync-${randomUUID()}`;
    const live = await fx.attempt({ clientId, device, username: 'dev-und', password: PASSWORD });
    try {
      assert.deepEqual({ ...live.connack }, connack(0));
      await fx.stopNats();
      await waitFor(() => !fx.broker.ready(), { what: 'not ready during the outage' });
      // cert-registry fails both ways a broker could rebuild its trust after the outage.
      fx.failing.add(RequestSubjects.TrustSetGet);
      fx.failing.add(RequestSubjects.TrustSetDigest);
      await fx.startNats();
      await waitFor(() => !live.client.connected, { what: 'the undecidable session to end' });
      const ev = await fx.auditFor(clientId, 'session.ended');
      assert.equal(ev.reason, 'SESSION_UNDECIDABLE');
      assert.equal(ev.detail?.resync, true);
      await waitFor(() => fx.broker.ready(), { what: 'ready again after the resync' });
    } finally {
      fx.failing.delete(RequestSubjects.TrustSetGet);
      fx.failing.delete(RequestSubjects.TrustSetDigest);
      await fx.end(live);
    }
  });
});

describe('broker: a NATS outage shorter than the staleness bound, and a slow trust-set check', () => {
  let fx: Fixture;
  let device: Issued;
  before(async () => {
    // The outage and the check both fit in the staleness bound; the check takes longer than a connect may.
    fx = await startFixture({ TWOWAY_STALE_AFTER_MS: '20000', TWOWAY_CONNECT_DEADLINE_MS: '2000' });
    fx.accounts['acc-grace'] = settingsOf(false, true);
    fx.credentials.set('dev-grace', { accountId: 'acc-grace', id: 'cred-grace' });
    fx.register('root', fx.pki.root, 'VALID');
    fx.register('inter', fx.pki.intermediate, 'VALID');
    device = await fx.pki.device('dev-grace');
  });
  after(async () => {
    await fx?.stop();
  });

  it('connects are answered from the kept set while it is checked; one admitted on it is decided again once the check finds a revocation missed while away', async () => {
    const first = await fx.attempt({ clientId: `grace-${randomUUID()}`, device, username: 'dev-grace', password: PASSWORD });
    assert.deepEqual({ ...first.connack }, connack(0));
    fx.digestDelayMs = 3_000;
    const clientId = `grace-late-${randomUUID()}`;
    let late: Awaited<ReturnType<Fixture['attempt']>> | undefined;
    try {
      await fx.stopNats();
      await waitFor(() => !fx.broker.ready(), { what: 'not ready while NATS is away' });
      // Revoked while the broker was away; its event never reaches it: only the digest check can tell.
      fx.registry.find((e) => e.id === 'inter')!.status = 'REVOKED';
      const digests = fx.trustDigestRequests;
      await fx.startNats();
      await waitFor(() => fx.trustDigestRequests > digests, { what: 'the kept set being checked' });
      const started = Date.now();
      late = await fx.attempt({ clientId, device, username: 'dev-grace', password: PASSWORD });
      assert.deepEqual({ ...late.connack }, connack(0), 'answered from the kept set within the staleness bound, not held until the check');
      assert.ok(Date.now() - started < 2_000, `answered in ${Date.now() - started} ms, before the check (3 s)`);
      const metrics = await (await fetch(`${fx.broker.httpUrl}/metrics`)).text();
      assert.match(metrics, /^twoway_broker_trust_unchecked_answers_total [1-9]/m, 'counted as answered from an unchecked set');
      const closed = new Promise<void>((r) => late!.client.once('close', () => r()));
      await closed;
      const ended = await fx.auditFor(clientId, 'session.ended');
      assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
      assert.equal(ended.detail?.decision, 'CERT_REVOKED', 'decided again on the checked set');
      await waitFor(() => fx.broker.ready(), { what: 'ready again' });
      const again = await fx.attempt({ clientId: `grace-again-${randomUUID()}`, device, username: 'dev-grace', password: PASSWORD });
      await fx.end(again);
      assert.deepEqual({ ...again.connack }, connack(5));
    } finally {
      fx.digestDelayMs = 0;
      fx.registry.find((e) => e.id === 'inter')!.status = 'VALID';
      await fx.end(first);
      if (late) await fx.end(late);
    }
  });
});
