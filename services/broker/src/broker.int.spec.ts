// The broker alone, with real NATS (JetStream), real TLS and real MQTT clients (the `mqtt` package and
// mosquitto_pub). account-settings and cert-registry are fake responders on NATS (broker.fixture.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { connect as tlsConnect } from 'node:tls';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StringCodec } from 'nats';
import mqtt from 'mqtt';
import { ChangeSubjects, Streams, type CertStatus } from '@twoway/contracts';
import { waitFor, type TestPki } from '@twoway/testing';
import { createRootCa, issueDeviceCert, type Issued } from '@twoway/pki';
import type { Bus } from '@twoway/nats';
import { PASSWORD, PROVIDER, connack, received, settingsOf, startFixture, type Fixture } from './broker.fixture.js';
import type { RunningBroker } from './service.js';

const run = promisify(execFile);
const sc = StringCodec();

describe('broker: connect decision and real-time revocation', () => {
  let fx: Fixture;
  let bus: Bus;
  let broker: RunningBroker;
  let pki: TestPki;
  let dir: { path: string };
  const devices: Record<string, Issued> = {};

  before(async () => {
    fx = await startFixture({ TWOWAY_MQTT_PLAIN_PORT: '0' });
    ({ bus, broker, pki } = fx);
    dir = { path: fx.dir };
    // One account per configuration, all below the provider where the anchors are registered: a
    // parent-account anchor admits a child-account device.
    Object.assign(fx.accounts, {
      'acc-mtls': settingsOf(false, true),
      'acc-both': settingsOf(true, true),
      'acc-tls': settingsOf(true, false),
      'acc-bind': settingsOf(false, true, { bindCertificateTo: 'clientId' }),
      'acc-rev': settingsOf(false, true),
    });
    for (const [u, a] of [['dev-mtls', 'acc-mtls'], ['dev-both', 'acc-both'], ['dev-tls', 'acc-tls'], ['dev-bind', 'acc-bind'], ['dev-rev', 'acc-rev'], ['dev-weak', 'acc-mtls'], ['dev-suspended', 'acc-both']] as const) {
      fx.credentials.set(u, { accountId: a, id: `cred-${u}` });
    }
    // A CA nobody registered, with names of its own (a same-named impostor is a signature failure).
    const otherRoot = await createRootCa({ commonName: 'unregistered root' });
    for (const cn of ['dev-mtls', 'dev-both', 'dev-tls', 'dev-bind', 'dev-rev', 'dev-suspended']) devices[cn] = await pki.device(cn);
    devices['stranger'] = await issueDeviceCert({ issuer: otherRoot, commonName: 'dev-mtls' });
    fx.register('root', pki.root, 'VALID');
    fx.register('inter', pki.intermediate, 'VALID');
    fx.register('suspended-leaf', devices['dev-suspended']!, 'SUSPENDED', 'acc-both');
  });

  after(async () => {
    await fx?.stop();
  });

  const attempt: Fixture['attempt'] = (o) => fx.attempt(o);
  const end: Fixture['end'] = (a) => fx.end(a);
  const auditFor: Fixture['auditFor'] = (c, t) => fx.auditFor(c, t);
  const scrape = async () => (await fetch(`${broker.httpUrl}/metrics`)).text();
  /** A sample's value in a Prometheus text exposition (0 while the series does not exist yet). */
  const figure = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
  const revocationFigures = (after: string, before: string) => {
    const delta = (series: string) => figure(after, series) - figure(before, series);
    return { ended: delta('twoway_broker_sessions_ended_total{reason="SESSION_CERT_STATUS_CHANGED"}'), measured: delta('twoway_broker_revocation_propagation_ms_count') };
  };
  /**
   * Earlier tests end their clients without waiting for the broker to see the close: wait until the
   * only live sessions below the intermediate are these, so a suspension ends exactly these.
   */
  const onlyTheseBelowIntermediate = (clientIds: string[]) =>
    waitFor(() => broker.sessions.withFingerprint(pki.intermediate.cert.fingerprint).map((s) => s.clientId).sort().join() === [...clientIds].sort().join(), { what: 'only this test\'s sessions below the intermediate' });

  it('accepts a valid chain with the right password: whole CONNACK and the audit event on JetStream', async () => {
    const clientId = `c-${randomUUID()}`;
    const a = await attempt({ device: devices['dev-mtls'], clientId, username: 'dev-mtls', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const ev = await auditFor(clientId);
      // The same event, read back from the AUDIT stream.
      const jsm = await bus.jsm();
      const stored = await jsm.streams.getMessage(Streams.Audit.name, { last_by_subj: 'twoway.v1.audit.connect.accepted' });
      assert.deepEqual(JSON.parse(sc.decode(stored.data)), ev);
      assert.equal(typeof ev.id, 'string');
      assert.equal(ev.source, 'broker-test');
      assert.equal(ev.account, 'acc-mtls');
      assert.deepEqual(ev.accountPath, ['acc-mtls', PROVIDER]);
      assert.deepEqual(ev.actor, { kind: 'device', id: clientId });
      assert.equal(ev.outcome, 'accepted');
      assert.equal(ev.reason, 'MUTUAL_TLS');
      assert.deepEqual(ev.device, { clientId, username: 'dev-mtls', certificateFingerprint: devices['dev-mtls']!.cert.fingerprint, certificateSubject: devices['dev-mtls']!.cert.subject });
      assert.equal(ev.sourceAddress, '127.0.0.1');
      assert.deepEqual(ev.detail?.path, [devices['dev-mtls']!.cert.fingerprint, pki.intermediate.cert.fingerprint]);
      assert.ok(!JSON.stringify(ev).includes(PASSWORD));
      // This test's own session, not a count that sessions of other tests could make up.
      assert.deepEqual(broker.sessions.ofAccount('acc-mtls').filter((s) => s.clientId === clientId).map((s) => [s.mode, s.fingerprints]), [['mutual', [devices['dev-mtls']!.cert.fingerprint, pki.intermediate.cert.fingerprint]]]);
    } finally {
      await end(a);
    }
  });

  // The last column: the account and path the rejection is audited under (null: not attributable).
  const refusals: [string, () => { device?: Issued; username: string; password: string }, number, string, string[] | null][] = [
    ['no certificate with mutual TLS only → MTLS_REQUIRED', () => ({ username: 'dev-mtls', password: PASSWORD }), 5, 'MTLS_REQUIRED', ['acc-mtls', PROVIDER]],
    ['a certificate from an unregistered CA → CHAIN_UNTRUSTED', () => ({ device: devices['stranger'], username: 'dev-mtls', password: PASSWORD }), 5, 'CHAIN_UNTRUSTED', ['acc-mtls', PROVIDER]],
    ['the right certificate with a wrong password → BAD_CREDENTIALS, CONNACK 4', () => ({ device: devices['dev-mtls'], username: 'dev-mtls', password: 'wrong password' }), 4, 'BAD_CREDENTIALS', ['acc-mtls', PROVIDER]],
    ['no credentials → CREDENTIALS_MISSING, CONNACK 4', () => ({ device: devices['dev-mtls'], username: '', password: '' }), 4, 'CREDENTIALS_MISSING', null],
    ['both on, a SUSPENDED leaf does not fall back → CERT_SUSPENDED', () => ({ device: devices['dev-suspended'], username: 'dev-suspended', password: PASSWORD }), 5, 'CERT_SUSPENDED', ['acc-both', PROVIDER]],
  ];
  for (const [name, o, code, reason, path] of refusals) {
    it(`refuses ${name}`, async () => {
      const clientId = `c-${randomUUID()}`;
      const p = o();
      const a = await attempt({ clientId, ...(p.device ? { device: p.device } : {}), ...(p.username ? { username: p.username, password: p.password } : {}) });
      try {
        assert.deepEqual({ ...a.connack }, connack(code));
        const ev = await auditFor(clientId);
        assert.equal(ev.type, 'connect.rejected');
        assert.equal(ev.outcome, 'rejected');
        assert.equal(ev.reason, reason);
        assert.deepEqual([ev.account, ev.accountPath], path ? [path[0], path] : [null, undefined]);
        await waitFor(() => a.client.disconnected || !a.client.connected, { what: 'closed after refusal' });
      } finally {
        await end(a);
      }
    });
  }

  it('both on: no certificate falls back to credentials, audited as connect.accepted_fallback CHAIN_EMPTY', async () => {
    const clientId = `c-${randomUUID()}`;
    const a = await attempt({ clientId, username: 'dev-both', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const ev = await auditFor(clientId);
      assert.equal(ev.type, 'connect.accepted_fallback');
      assert.equal(ev.reason, 'CHAIN_EMPTY');
    } finally {
      await end(a);
    }
  });

  it('both on: an untrusted certificate falls back, recorded with the chain reason', async () => {
    const clientId = `c-${randomUUID()}`;
    const a = await attempt({ clientId, device: devices['stranger'], username: 'dev-both', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const ev = await auditFor(clientId);
      assert.equal(ev.type, 'connect.accepted_fallback');
      assert.equal(ev.reason, 'CHAIN_UNTRUSTED');
      assert.equal(ev.device?.certificateFingerprint, devices['stranger']!.cert.fingerprint);
    } finally {
      await end(a);
    }
  });

  it('plain TLS only: credentials decide; a presented certificate is recorded', async () => {
    const clientId = `c-${randomUUID()}`;
    const a = await attempt({ clientId, device: devices['stranger'], username: 'dev-tls', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const ev = await auditFor(clientId);
      assert.equal(ev.reason, 'PLAIN_TLS');
      assert.equal(ev.device?.certificateFingerprint, devices['stranger']!.cert.fingerprint);
    } finally {
      await end(a);
    }
  });

  it('identity binding: a certificate whose CN is not the client id → CN_MISMATCH; equal → accepted', async () => {
    const bad = await attempt({ clientId: 'dev-other', device: devices['dev-bind'], username: 'dev-bind', password: PASSWORD });
    try {
      assert.deepEqual({ ...bad.connack }, connack(5));
      assert.equal((await auditFor('dev-other')).reason, 'CN_MISMATCH');
    } finally {
      await end(bad);
    }
    const good = await attempt({ clientId: 'dev-bind', device: devices['dev-bind'], username: 'dev-bind', password: PASSWORD });
    try {
      assert.deepEqual({ ...good.connack }, connack(0));
    } finally {
      await end(good);
    }
  });

  it('suspending the intermediate ends the live session below it at once; the next connect is refused; restore admits again', async () => {
    const clientId = `rev-${randomUUID()}`;
    const dev = { device: devices['dev-rev']!, username: 'dev-rev', password: PASSWORD };
    const a = await attempt({ clientId, ...dev });
    const setStatus = (status: CertStatus) => fx.setCertStatus('inter', status);
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      await onlyTheseBelowIntermediate([clientId]);
      const before = await scrape();
      const closed = new Promise<void>((r) => a.client.once('close', () => r()));
      await setStatus('SUSPENDED');
      await closed;
      const ended = await auditFor(clientId, 'session.ended');
      assert.equal(ended.outcome, 'ended');
      assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
      assert.equal(ended.detail?.fingerprint, pki.intermediate.cert.fingerprint);
      assert.deepEqual([ended.account, ended.accountPath], ['acc-rev', ['acc-rev', PROVIDER]]);
      // As /metrics shows it: this one session ended, and its propagation was measured.
      assert.deepEqual(revocationFigures(await scrape(), before), { ended: 1, measured: 1 });

      const again = await attempt({ clientId: `${clientId}-2`, ...dev });
      try {
        assert.deepEqual({ ...again.connack }, connack(5));
        assert.equal((await auditFor(`${clientId}-2`)).reason, 'CERT_SUSPENDED');
      } finally {
        await end(again);
      }
    } finally {
      await setStatus('VALID');
      await end(a);
    }
    // Restored: the cache was invalidated by the event, so the next connect is admitted.
    const back = await waitFor(async () => {
      const r = await attempt({ clientId: `${clientId}-3`, ...dev });
      await end(r);
      return r.connack?.returnCode === 0 ? r : undefined;
    }, { what: 'admitted after restore', timeoutMs: 5000 });
    assert.deepEqual({ ...back.connack }, connack(0));
  });

  it('a suspension announced on core NATS alone (the stream not storing it yet, as during a leader election) ends the session at once; the stream\'s copy is then skipped', async () => {
    const clientId = `live-${randomUUID()}`;
    const dev = { device: devices['dev-rev']!, username: 'dev-rev', password: PASSWORD };
    const a = await attempt({ clientId, ...dev });
    const entry = fx.registry.find((e) => e.id === 'inter')!;
    const event = (after: CertStatus) => [ChangeSubjects.CertStatusChanged, 'cert.status_changed', entry.accountId, { certificateId: 'inter', fingerprint: entry.fingerprint, before: entry.status, after }] as const;
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      await onlyTheseBelowIntermediate([clientId]);
      const before = await scrape();
      const id = randomUUID();
      const suspend = event('SUSPENDED');
      let closed = false;
      a.client.once('close', () => (closed = true));
      entry.status = 'SUSPENDED';
      await fx.publishChange(...suspend, { via: 'live', id });
      await waitFor(() => closed, { timeoutMs: 3_000, what: 'the session to end on the announcement alone' });
      const ended = await auditFor(clientId, 'session.ended');
      assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
      assert.equal(ended.detail?.eventId, id);
      const again = await attempt({ clientId: `${clientId}-2`, ...dev });
      await end(again);
      assert.equal(again.connack?.returnCode, 5, 'the trust set took the suspension from the announcement');
      // The stream delivers the same event later: skipped, nothing ended twice.
      await fx.publishChange(...suspend, { via: 'stream', id });
      const after = await waitFor(async () => {
        const text = await scrape();
        return figure(text, 'twoway_broker_changes_already_applied_total') > figure(before, 'twoway_broker_changes_already_applied_total') ? text : undefined;
      }, { what: 'the stream\'s copy skipped' });
      const delta = (series: string) => figure(after, series) - figure(before, series);
      assert.deepEqual(
        [delta('twoway_broker_changes_applied_total{type="cert.status_changed",path="live"}'), delta('twoway_broker_changes_applied_total{type="cert.status_changed",path="stream"}'), revocationFigures(after, before).ended],
        [1, 0, 1],
      );
    } finally {
      await fx.setCertStatus('inter', 'VALID');
      await end(a);
    }
  });

  it('after a suspension the replica updates its trust set in place: no trust-set request for the change, the kick or the kicked devices\' reconnect storm', async () => {
    const dev = { device: devices['dev-rev']!, username: 'dev-rev', password: PASSWORD };
    const ids = Array.from({ length: 5 }, (_, i) => `storm-${i}-${randomUUID()}`);
    const live = await Promise.all(ids.map((clientId) => attempt({ clientId, ...dev })));
    const setStatus = (status: CertStatus) => fx.setCertStatus('inter', status);
    try {
      for (const a of live) assert.deepEqual({ ...a.connack }, connack(0));
      await onlyTheseBelowIntermediate(ids);
      const before = await scrape();
      const closed = Promise.all(live.map((a) => new Promise<void>((r) => (a.client.disconnected ? r() : a.client.once('close', () => r())))));
      const refilled = fx.trustSetRequests;
      await setStatus('SUSPENDED');
      await closed;
      assert.deepEqual(revocationFigures(await scrape(), before), { ended: 5, measured: 5 });
      const storm = await Promise.all(Array.from({ length: 5 }, (_, i) => attempt({ clientId: `storm-back-${i}-${randomUUID()}`, ...dev })));
      try {
        for (const a of storm) assert.deepEqual({ ...a.connack }, connack(5));
        assert.equal(fx.trustSetRequests, refilled, 'the cached set took the suspension: nothing fetched again');
      } finally {
        await Promise.all(storm.map(end));
      }
    } finally {
      await setStatus('VALID');
      await Promise.all(live.map(end));
    }
    await waitFor(async () => {
      const r = await attempt({ clientId: `storm-ok-${randomUUID()}`, ...dev });
      await end(r);
      return r.connack?.returnCode === 0;
    }, { what: 'admitted after restore', timeoutMs: 5000 });
  });

  it('devices sharing a credential that connect together are verified with one credential check', async () => {
    // Slow answers make the attempts overlap, as a fleet's reconnect after a restart does.
    fx.credentials.set('dev-herd', { accountId: 'acc-mtls', id: 'cred-herd', delayMs: 300 });
    const before = fx.credentialRequests;
    const herd = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt({ clientId: `herd-${i}-${randomUUID()}`, device: devices['dev-mtls'], username: 'dev-herd', password: PASSWORD })));
    try {
      for (const a of herd) assert.deepEqual({ ...a.connack }, connack(0));
      assert.equal(fx.credentialRequests - before, 1);
    } finally {
      await Promise.all(herd.map(end));
    }
    const wrong = await Promise.all(Array.from({ length: 3 }, (_, i) => attempt({ clientId: `herd-bad-${i}-${randomUUID()}`, device: devices['dev-mtls'], username: 'dev-herd', password: `wrong-${i}` })));
    try {
      for (const a of wrong) assert.deepEqual({ ...a.connack }, connack(4));
      assert.equal(fx.credentialRequests - before, 4, 'different passwords are each checked (lockout counts every one)');
    } finally {
      await Promise.all(wrong.map(end));
    }
  });

  it('refuses an RSA-1024 client certificate', async () => {
    const keyFile = join(dir.path, 'weak.key');
    const csrFile = join(dir.path, 'weak.csr');
    const certFile = join(dir.path, 'weak.pem');
    const caFile = join(dir.path, 'inter.pem');
    const caKey = join(dir.path, 'inter.key');
    const ext = join(dir.path, 'ext.cnf');
    await writeFile(caFile, pki.intermediate.certPem);
    await writeFile(caKey, pki.intermediate.keyPem, { mode: 0o600 });
    await writeFile(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    await run('openssl', ['genrsa', '-out', keyFile, '1024']);
    await run('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=dev-weak', '-out', csrFile]);
    await run('openssl', ['x509', '-req', '-in', csrFile, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-days', '30', '-sha256', '-extfile', ext, '-out', certFile]);
    const weak = { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8') };
    const clientId = `weak-${randomUUID()}`;
    const a = await attempt({ clientId, device: { ...devices['dev-mtls']!, chainPem: weak.certPem + pki.intermediate.certPem, keyPem: weak.keyPem }, username: 'dev-weak', password: PASSWORD });
    try {
      // The client certificate is requested, not required, and the TLS layer's verdict is ignored
      // (docs/broker.md "TLS"): security level 2 does not end the handshake over a 1024-bit client key.
      // The validator refuses it, so the device learns CONNACK 5 and the audit says why.
      assert.deepEqual({ ...a.connack }, connack(5));
      const ev = await auditFor(clientId);
      assert.equal(ev.type, 'connect.rejected');
      assert.equal(ev.reason, 'WEAK_KEY');
      assert.equal(ev.device?.certificateSubject, 'CN=dev-weak');
    } finally {
      await end(a);
    }
  });

  it('refuses a TLS 1.1 client at the handshake with a protocol_version alert', async () => {
    // OpenSSL 3 completes TLS below 1.2 only at security level 0: a client at its default level
    // refuses TLS 1.1's SHA-1 signatures itself, even from a server that accepts TLS 1.1. At level 0
    // (with its TLS 1.0-era CBC suites) it can complete TLS 1.1, so the refusal can only be the broker's.
    const outcome = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: broker.mqttPort, servername: 'localhost', ca: pki.root.certPem, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' });
      s.once('secureConnect', () => {
        resolve(`connected with ${s.getProtocol()} ${s.getCipher().name}`);
        s.destroy();
      });
      s.once('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
    });
    // RFC 8996 retires TLS 1.1; the refusal is alert 70, protocol_version (RFC 5246 §7.2.2).
    assert.equal(outcome, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
  });

  it('closes a malformed CONNECT at once (well before the connect deadline)', async () => {
    const started = Date.now();
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: broker.mqttPort, servername: 'localhost', ca: pki.root.certPem }, () => {
        // CONNECT with a protocol name of length 0 and a bogus remainder ([MQTT-3.1.2-1]).
        s.write(Buffer.from([0x10, 0x04, 0x00, 0x00, 0xff, 0xff]));
      });
      s.on('data', () => undefined);
      s.once('close', () => resolve(Date.now() - started));
      s.once('error', () => undefined);
      setTimeout(() => reject(new Error('not closed')), 10_000).unref();
    });
    assert.ok(closedAfter < 2000, `closed after ${closedAfter} ms`);
  });

  it('closes a socket that never sends CONNECT at the deadline', async () => {
    const before = broker.metrics.connectTimeouts.get({ stage: 'connect' });
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: broker.mqttPort, servername: 'localhost', ca: pki.root.certPem });
      s.on('data', () => undefined);
      s.once('close', () => resolve());
      s.once('error', () => undefined);
    });
    assert.equal(broker.metrics.connectTimeouts.get({ stage: 'connect' }), before + 1);
  });

  it('mosquitto_pub connects with the device certificate chain and publishes', async () => {
    const cert = join(dir.path, 'dev.pem');
    const key = join(dir.path, 'dev.key');
    const ca = join(dir.path, 'ca.pem');
    await writeFile(cert, devices['dev-mtls']!.chainPem);
    await writeFile(key, devices['dev-mtls']!.keyPem, { mode: 0o600 });
    await writeFile(ca, pki.root.certPem);
    const clientId = `mosq-${randomUUID().slice(0, 8)}`;
    await run('mosquitto_pub', ['-h', 'localhost', '-p', String(broker.mqttPort), '--cafile', ca, '--cert', cert, '--key', key, '-u', 'dev-mtls', '-P', PASSWORD, '-i', clientId, '-t', 'telemetry', '-m', 'hello', '-q', '1']);
    const ev = await auditFor(clientId);
    assert.equal(ev.reason, 'MUTUAL_TLS');
  });

  it('a message round-trips within an account and does not reach another account', async () => {
    const sub = await attempt({ clientId: `sub-${randomUUID()}`, device: devices['dev-mtls'], username: 'dev-mtls', password: PASSWORD });
    const spy = await attempt({ clientId: `spy-${randomUUID()}`, username: 'dev-tls', password: PASSWORD });
    const pub = await attempt({ clientId: `pub-${randomUUID()}`, device: devices['dev-mtls'], username: 'dev-mtls', password: PASSWORD });
    try {
      const got = received(sub.client);
      const spied = received(spy.client);
      await sub.client.subscribeAsync('room/#', { qos: 1 });
      await spy.client.subscribeAsync('#', { qos: 1 });
      await pub.client.publishAsync('room/1', 'hi', { qos: 1 });
      await waitFor(() => got.length === 1, { what: 'delivery' });
      assert.deepEqual(got, ['room/1:hi']);
      assert.deepEqual(spied, []);
    } finally {
      await Promise.all([end(sub), end(spy), end(pub)]);
    }
  });

  it('a duplicate client id takes over within an account, never across accounts', async () => {
    const id = `dup-${randomUUID()}`;
    const first = await attempt({ clientId: id, device: devices['dev-mtls'], username: 'dev-mtls', password: PASSWORD });
    const otherAccount = await attempt({ clientId: id, username: 'dev-tls', password: PASSWORD });
    try {
      assert.deepEqual({ ...first.connack }, connack(0));
      assert.deepEqual({ ...otherAccount.connack }, connack(0));
      // Another account reusing the id leaves the first session alone (a round trip proves it is still up).
      await first.client.subscribeAsync('ping');
      assert.equal(first.client.connected, true);
      const closed = new Promise<void>((r) => first.client.once('close', () => r()));
      const second = await attempt({ clientId: id, device: devices['dev-mtls'], username: 'dev-mtls', password: PASSWORD });
      try {
        assert.deepEqual({ ...second.connack }, connack(0));
        await closed;
        assert.equal(otherAccount.client.connected, true);
      } finally {
        await end(second);
      }
    } finally {
      await Promise.all([end(first), end(otherAccount)]);
    }
  });

  it('plain TCP (development listener): credentials only, recorded with transport tcp', async () => {
    const clientId = `tcp-${randomUUID()}`;
    const client = mqtt.connect(`mqtt://127.0.0.1:${broker.plainPort}`, { clientId, username: 'dev-tls', password: PASSWORD, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      const ev = await auditFor(clientId);
      assert.equal(ev.reason, 'PLAIN_TLS');
      assert.equal(ev.detail?.transport, 'tcp');
    } finally {
      await new Promise<void>((r) => client.end(true, {}, () => r()));
    }
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    assert.equal((await fetch(`${broker.httpUrl}/healthz`)).status, 200);
    const ready = await fetch(`${broker.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    const accepted = 'twoway_broker_decisions_total{outcome="accepted",reason="MUTUAL_TLS"}';
    const before = await scrape();
    const a = await attempt({ clientId: `metrics-${randomUUID()}`, device: devices['dev-mtls'], username: 'dev-mtls', password: PASSWORD });
    await end(a);
    assert.deepEqual({ ...a.connack }, connack(0));
    assert.equal(figure(await scrape(), accepted) - figure(before, accepted), 1);
  });
});
