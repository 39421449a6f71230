// The broker under abuse, with real NATS, real TLS and real MQTT clients (fake owners, broker.fixture.ts):
// password guessing against a device's username, a flood of half-open sockets from the device's own
// address, oversized packets before and after CONNECT, and an owner shedding load.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { fixedHeader, waitFor, type TestPki } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { PASSWORD, connack, settingsOf, startFixture, type Fixture } from './broker.fixture.js';

const closed = (s: Socket) => new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r())));

describe('broker: abuse resistance', () => {
  let fx: Fixture;
  let pki: TestPki;
  let device: Issued;
  const sockets: Socket[] = [];

  before(async () => {
    fx = await startFixture({ TWOWAY_MAX_PENDING_PER_IP: '8', TWOWAY_MQTT_MAX_CONNECT_BYTES: '4096', TWOWAY_MQTT_MAX_PACKET_BYTES: '16384' });
    pki = fx.pki;
    fx.accounts['acc-abuse'] = settingsOf(false, true);
    fx.accounts['acc-plain'] = settingsOf(true, false);
    fx.register('root', pki.root, 'VALID');
    device = await pki.device('dev-guessed');
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await fx?.stop();
  });

  /** A TLS socket that completed its handshake (with the device's certificate) and sends raw bytes. */
  const rawTls = (withCert: boolean) =>
    new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: fx.broker.mqttPort, servername: 'localhost', ca: pki.root.certPem, ...(withCert ? { cert: device.chainPem, key: device.keyPem } : {}) }, () => resolve(s));
      sockets.push(s);
      s.on('error', () => undefined);
      s.once('error', reject);
    });

  it('regression: a dozen wrong passwords for a device\'s username do not lock out the device with a valid chain', async () => {
    fx.credentials.set('dev-guessed', { accountId: 'acc-abuse', id: 'cred-guessed', lockAfter: 10 });
    // The guesser: no certificate, wrong passwords, until account-settings locks the username.
    for (let i = 0; i < 12; i++) {
      const a = await fx.attempt({ clientId: `guess-${i}`, username: 'dev-guessed', password: `guess-${i}` });
      await fx.end(a);
    }
    assert.equal((await fx.auditFor('guess-11')).reason, 'RATE_LIMITED');
    // The right password without a chain is still held to the lock.
    const noChain = `c-${randomUUID()}`;
    const refused = await fx.attempt({ clientId: noChain, username: 'dev-guessed', password: PASSWORD });
    await fx.end(refused);
    assert.deepEqual({ ...refused.connack }, connack(5));
    assert.equal((await fx.auditFor(noChain)).reason, 'RATE_LIMITED');
    // The device: its valid chain and the right password.
    const clientId = `c-${randomUUID()}`;
    const ok = await fx.attempt({ device, clientId, username: 'dev-guessed', password: PASSWORD });
    try {
      assert.deepEqual({ ...ok.connack }, connack(0));
      assert.equal((await fx.auditFor(clientId)).reason, 'MUTUAL_TLS');
    } finally {
      await fx.end(ok);
    }
  });

  it('a flood of half-open sockets from the device\'s own address (carrier NAT) does not keep the device out', async () => {
    fx.credentials.set('dev-nat', { accountId: 'acc-abuse', id: 'cred-nat' });
    const natDevice = await pki.device('dev-nat');
    const before = fx.broker.metrics.pendingRefused.get({ bound: 'address' });
    // Twice the per-address bound of sockets that never start a handshake.
    const flood = await Promise.all(
      Array.from({ length: 16 }, () =>
        new Promise<Socket>((resolve) => {
          const s = netConnect({ host: '127.0.0.1', port: fx.broker.mqttPort }, () => resolve(s));
          sockets.push(s);
          s.on('error', () => undefined);
        }),
      ),
    );
    await waitFor(() => fx.broker.metrics.pendingRefused.get({ bound: 'address' }) >= before + 8, { what: 'the oldest flood sockets closed' });
    const clientId = `c-${randomUUID()}`;
    const a = await fx.attempt({ device: natDevice, clientId, username: 'dev-nat', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
    } finally {
      await fx.end(a);
      for (const s of flood) s.destroy();
    }
    assert.ok(fx.broker.listeners.pendingSockets <= 8);
  });

  it('before CONNECT: a header declaring a 256 MB packet closes the socket at once (counted, not audited)', async () => {
    const before = fx.broker.metrics.packetTooLarge.get({ stage: 'connect' });
    const s = await rawTls(true);
    const t0 = Date.now();
    s.write(fixedHeader(0x10, 268_435_455)); // CONNECT, Remaining Length at the protocol maximum
    await closed(s);
    assert.ok(Date.now() - t0 < 2_500, 'closed well before the connect deadline (3 s here)');
    assert.equal(fx.broker.metrics.packetTooLarge.get({ stage: 'connect' }), before + 1);
  });

  it('after CONNECT: a PUBLISH beyond TWOWAY_MQTT_MAX_PACKET_BYTES ends the session, audited PACKET_TOO_LARGE', async () => {
    fx.credentials.set('dev-big', { accountId: 'acc-abuse', id: 'cred-big' });
    const bigDevice = await pki.device('dev-big');
    const clientId = `c-${randomUUID()}`;
    const a = await fx.attempt({ device: bigDevice, clientId, username: 'dev-big', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const before = fx.broker.metrics.packetTooLarge.get({ stage: 'session' });
      // A packet within the bound passes; the header of one beyond it closes the socket.
      await new Promise<void>((r, j) => a.client.publish('t/ok', Buffer.alloc(8_000), { qos: 1 }, (e) => (e ? j(e) : r())));
      const conn = (a.client as unknown as { stream: Socket }).stream;
      conn.write(fixedHeader(0x30, 100_000_000));
      await closed(conn);
      const ev = await fx.auditFor(clientId, 'session.ended');
      assert.equal(ev.reason, 'PACKET_TOO_LARGE');
      assert.deepEqual(ev.detail, { stage: 'session', bytes: 1 + 4 + 100_000_000, limit: 16384 });
      assert.equal(fx.broker.metrics.packetTooLarge.get({ stage: 'session' }), before + 1);
    } finally {
      await fx.end(a);
    }
  });

  it('an owner answering OVERLOADED makes the connect UNDECIDABLE at once (audited), not a wait', async () => {
    fx.credentials.set('dev-busy', { accountId: 'acc-plain', id: 'cred-busy', overloaded: true });
    const clientId = `c-${randomUUID()}`;
    const a = await fx.attempt({ clientId, username: 'dev-busy', password: PASSWORD });
    await fx.end(a);
    assert.deepEqual({ ...a.connack }, connack(5));
    const ev = await fx.auditFor(clientId);
    assert.equal(ev.reason, 'UNDECIDABLE');
  });
});
