// Device certificates near their end, seen at connect: real nats-server, real TLS, real `mqtt` clients
// over mutual TLS; account-settings and cert-registry are fake responders (broker.fixture.ts). An
// admitted device whose leaf or intermediate expires within the window is counted at every connect and
// audited once per certificate per interval.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DAY_MS, type AuditEvent } from '@twoway/contracts';
import { issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { PASSWORD, PROVIDER, connack, settingsOf, startFixture, type Fixture } from './broker.fixture.js';

describe('broker: expiring device certificates at connect', () => {
  let fx: Fixture;
  const devices: Record<string, Issued> = {};
  let batch: Issued;

  before(async () => {
    fx = await startFixture({ TWOWAY_EXPIRY_WARNING_DAYS: '30', TWOWAY_EXPIRY_AUDIT_INTERVAL_MS: String(3600 * 1000) });
    fx.accounts['acc-exp'] = settingsOf(false, true);
    fx.register('root', fx.pki.root, 'VALID');
    // A production batch whose intermediate ends in 20 days, below the registered root.
    batch = await issueIntermediateCa({ issuer: fx.pki.root, commonName: 'batch ending in 20 days', days: 20 });
    devices['soon'] = await fx.pki.device('sensor-soon', { notAfter: new Date(Date.now() + 10.5 * DAY_MS) });
    devices['fine'] = await fx.pki.device('sensor-fine');
    devices['batch-1'] = await issueDeviceCert({ issuer: batch, commonName: 'batch-1', notAfter: new Date(Date.now() + 300 * DAY_MS) });
    devices['batch-2'] = await issueDeviceCert({ issuer: batch, commonName: 'batch-2', notAfter: new Date(Date.now() + 300 * DAY_MS) });
    for (const name of Object.keys(devices)) fx.credentials.set(name, { accountId: 'acc-exp', id: `cred-${name}` });
  });
  after(async () => {
    await fx?.stop();
  });

  const scrape = async () => (await fetch(`${fx.broker.httpUrl}/metrics`)).text();
  /** A sample of the Prometheus text (0 while the series does not exist yet). */
  const figure = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
  const figures = async () => {
    const t = await scrape();
    return {
      connects: figure(t, 'twoway_broker_expiring_cert_connects_total'),
      suppressed: figure(t, 'twoway_broker_expiry_audits_suppressed_total'),
      remembered: figure(t, 'twoway_broker_expiry_audited'),
    };
  };
  const expiryEvents = (clientId: string): AuditEvent[] => fx.audit.filter((e) => e.type === 'device.cert_expiring' && e.device?.clientId === clientId);

  /** Connects `name` over mutual TLS with its credential; the whole CONNACK must be an acceptance. */
  async function connect(name: string): Promise<string> {
    const clientId = `${name}-${randomUUID()}`;
    const a = await fx.attempt({ device: devices[name], clientId, username: name, password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0), a.error?.message);
      await fx.auditFor(clientId, 'connect.accepted');
    } finally {
      await fx.end(a);
    }
    return clientId;
  }
  /**
   * A device with nothing expiring connects after the others: once its connect event is on the stream,
   * every event the broker queued before it is there too (one pump, in order).
   */
  const barrier = () => connect('fine');

  it('audits an admitted device whose leaf expires within the window, with the certificate, and counts the connect', async () => {
    const before = await figures();
    const clientId = await connect('soon');
    const ev = await fx.auditFor(clientId, 'device.cert_expiring');
    const leaf = devices['soon']!.cert;
    assert.deepEqual([ev.account, ev.accountPath, ev.actor, ev.source], ['acc-exp', ['acc-exp', PROVIDER], { kind: 'device', id: clientId }, 'broker-test']);
    assert.deepEqual(ev.device, { clientId, username: 'soon', certificateFingerprint: leaf.fingerprint, certificateSubject: leaf.subject });
    assert.deepEqual(ev.detail, {
      transport: 'tls',
      windowDays: 30,
      certificates: [{ role: 'leaf', fingerprint: leaf.fingerprint, subject: leaf.subject, notAfter: leaf.notAfter.toISOString(), daysLeft: 10 }],
    });
    const connectEvent = fx.audit.find((e) => e.type === 'connect.accepted' && e.device?.clientId === clientId)!;
    assert.equal(ev.traceId, connectEvent.traceId, 'the same trace as the connect it was seen at');
    const after = await figures();
    assert.deepEqual([after.connects - before.connects, after.suppressed - before.suppressed], [1, 0]);
  });

  it('counts the same device again but does not audit it again within the interval', async () => {
    const before = await figures();
    const clientId = await connect('soon');
    await barrier();
    assert.deepEqual(expiryEvents(clientId), []);
    assert.equal(fx.audit.filter((e) => e.type === 'device.cert_expiring' && e.device?.username === 'soon').length, 1, 'one event for the leaf so far');
    const after = await figures();
    assert.deepEqual([after.connects - before.connects, after.suppressed - before.suppressed], [1, 1], 'the barrier device expires nothing');
  });

  it('audits an expiring intermediate once for the whole batch below it', async () => {
    const first = await connect('batch-1');
    const ev = await fx.auditFor(first, 'device.cert_expiring');
    assert.deepEqual(
      (ev.detail?.certificates as { role: string; fingerprint: string; daysLeft: number }[]).map((c) => [c.role, c.fingerprint, c.daysLeft]),
      [['intermediate', batch.cert.fingerprint, 19]],
    );
    const before = await figures();
    const second = await connect('batch-2');
    await barrier();
    assert.deepEqual(expiryEvents(second), [], 'the intermediate was audited a moment ago');
    const after = await figures();
    assert.deepEqual([after.connects - before.connects, after.suppressed - before.suppressed], [1, 1]);
    assert.equal(after.remembered, 2, 'the leaf of "soon" and the batch intermediate');
  });

  it('neither counts nor audits a device with nothing expiring', async () => {
    const before = await figures();
    const clientId = await connect('fine');
    await barrier();
    assert.deepEqual(expiryEvents(clientId), []);
    assert.equal((await figures()).connects, before.connects);
  });
});
