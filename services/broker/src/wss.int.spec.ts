// MQTT over secure WebSocket (the wss listener), with real NATS, real TLS and real clients (the `mqtt`
// package over wss://, and `ws` for what a well-behaved client would never send): the same connect
// decision, audit, revocation, tenant isolation, byte limits, deadline and drain as the MQTT/TLS port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { connectPacket, fixedHeader, waitFor, type TestPki } from '@twoway/testing';
import { createRootCa, issueDeviceCert, type Issued } from '@twoway/pki';
import { PASSWORD, PROVIDER, connack, received, settingsOf, startFixture, type AttemptOptions, type Fixture } from './broker.fixture.js';

const MAX_CONNECT_BYTES = 4096;
const MAX_PACKET_BYTES = 16384;

describe('broker: MQTT over secure WebSocket (wss)', () => {
  let fx: Fixture;
  let pki: TestPki;
  const devices: Record<string, Issued> = {};
  const roots: Record<string, Issued> = {};
  const sockets: { destroy(): void }[] = [];

  before(async () => {
    fx = await startFixture({
      TWOWAY_MQTT_WSS_PORT: '0',
      TWOWAY_MAX_PENDING_PER_IP: '8',
      TWOWAY_MQTT_MAX_CONNECT_BYTES: String(MAX_CONNECT_BYTES),
      TWOWAY_MQTT_MAX_PACKET_BYTES: String(MAX_PACKET_BYTES),
      TWOWAY_DRAIN_WINDOW_MS: '1000',
    });
    pki = fx.pki;
    Object.assign(fx.accounts, {
      'acc-mtls': settingsOf(false, true),
      'acc-other': settingsOf(false, true),
      'acc-rev': settingsOf(false, true),
    });
    for (const [u, a] of [['dev-mtls', 'acc-mtls'], ['dev-other', 'acc-other'], ['dev-rev', 'acc-rev']] as const) fx.credentials.set(u, { accountId: a, id: `cred-${u}` });
    fx.register('root', pki.root, 'VALID');
    for (const cn of ['dev-mtls', 'dev-other']) devices[cn] = await pki.device(cn);
    // Anchors of their own, registered in the device's account: one suspended, one revoked, and one
    // that a test revokes while its device is connected.
    for (const [name, status] of [['suspended-root', 'SUSPENDED'], ['revoked-root', 'REVOKED'], ['rev-root', 'VALID']] as const) {
      roots[name] = await createRootCa({ commonName: `${name} CA` });
      devices[name] = await issueDeviceCert({ issuer: roots[name]!, commonName: `below ${name}` });
      fx.register(name, roots[name]!, status, name === 'rev-root' ? 'acc-rev' : 'acc-mtls');
    }
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await fx?.stop();
  });

  const wss = (o: Omit<AttemptOptions, 'transport'>) => fx.attempt({ ...o, transport: 'wss' });
  const url = (path = '/mqtt') => `wss://127.0.0.1:${fx.broker.wssPort}${path}`;
  const tlsOf = (device?: Issued) => ({ ca: pki.root.certPem, ...(device ? { cert: device.chainPem, key: device.keyPem } : {}) });

  /** A raw WebSocket (the `ws` package): what the upgrade answered, and the socket once open. */
  const openWs = (o: { path?: string; protocols?: string[]; device?: Issued } = {}) =>
    new Promise<{ ws: WebSocket; status?: number }>((resolve, reject) => {
      const ws = new WebSocket(url(o.path), o.protocols ?? ['mqtt'], tlsOf(o.device ?? devices['dev-mtls']));
      sockets.push({ destroy: () => ws.terminate() });
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ ws, status: res.statusCode! });
        ws.terminate();
      });
      ws.once('error', reject);
    });
  const closeOf = (ws: WebSocket) =>
    new Promise<{ code: number; ms: number }>((resolve) => {
      const t0 = Date.now();
      if (ws.readyState === WebSocket.CLOSED) resolve({ code: 1006, ms: 0 });
      ws.once('close', (code) => resolve({ code, ms: Date.now() - t0 }));
      ws.on('error', () => undefined);
    });
  const nextMessage = (ws: WebSocket) => new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));

  it('accepts a valid chain with the right password: whole CONNACK, audited with transport wss, counted as a wss connection', async () => {
    const before = fx.broker.metrics.connections.get({ transport: 'wss' });
    const clientId = `c-${randomUUID()}`;
    const a = await wss({ device: devices['dev-mtls'], clientId, username: 'dev-mtls', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const ev = await fx.auditFor(clientId);
      assert.equal(ev.type, 'connect.accepted');
      assert.equal(ev.reason, 'MUTUAL_TLS');
      assert.deepEqual([ev.account, ev.accountPath], ['acc-mtls', ['acc-mtls', PROVIDER]]);
      assert.deepEqual(ev.device, { clientId, username: 'dev-mtls', certificateFingerprint: devices['dev-mtls']!.cert.fingerprint, certificateSubject: devices['dev-mtls']!.cert.subject });
      assert.deepEqual(ev.detail, { transport: 'wss', certificate: 'trusted', mode: 'mutual', path: [devices['dev-mtls']!.cert.fingerprint, pki.intermediate.cert.fingerprint, pki.root.cert.fingerprint] });
      assert.equal(ev.sourceAddress, '127.0.0.1');
      assert.ok(!JSON.stringify(ev).includes(PASSWORD));
      assert.equal(fx.broker.metrics.connections.get({ transport: 'wss' }), before + 1);
    } finally {
      await fx.end(a);
    }
  });

  // The anchor rows: an account whose only anchor for the device is suspended or revoked.
  const refusals: [string, () => { device?: Issued; username: string; password: string }, number, string][] = [
    ['no client certificate with mutual TLS only → MTLS_REQUIRED', () => ({ username: 'dev-mtls', password: PASSWORD }), 5, 'MTLS_REQUIRED'],
    ['a chain whose anchor is SUSPENDED → ANCHOR_SUSPENDED', () => ({ device: devices['suspended-root'], username: 'dev-mtls', password: PASSWORD }), 5, 'ANCHOR_SUSPENDED'],
    ['a chain whose anchor is REVOKED → ANCHOR_REVOKED', () => ({ device: devices['revoked-root'], username: 'dev-mtls', password: PASSWORD }), 5, 'ANCHOR_REVOKED'],
    ['a valid chain with a wrong password → BAD_CREDENTIALS, CONNACK 4', () => ({ device: devices['dev-mtls'], username: 'dev-mtls', password: 'wrong password' }), 4, 'BAD_CREDENTIALS'],
  ];
  for (const [name, o, code, reason] of refusals) {
    it(`refuses ${name}, audited with transport wss`, async () => {
      const clientId = `c-${randomUUID()}`;
      const p = o();
      const a = await wss({ clientId, ...p });
      try {
        assert.deepEqual({ ...a.connack }, connack(code));
        const ev = await fx.auditFor(clientId);
        assert.deepEqual([ev.type, ev.reason, ev.account, ev.detail?.transport, ev.detail?.returnCode], ['connect.rejected', reason, 'acc-mtls', 'wss', code]);
        await waitFor(() => !a.client.connected, { what: 'closed after refusal' });
      } finally {
        await fx.end(a);
      }
    });
  }

  it('revoking the anchor ends the live wss session at once and refuses the reconnect; restoring admits again', async () => {
    const clientId = `rev-${randomUUID()}`;
    const dev = { device: devices['rev-root']!, username: 'dev-rev', password: PASSWORD };
    const a = await wss({ clientId, ...dev });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      const closed = new Promise<void>((r) => a.client.once('close', () => r()));
      await fx.setCertStatus('rev-root', 'REVOKED');
      await closed;
      const ended = await fx.auditFor(clientId, 'session.ended');
      assert.deepEqual([ended.reason, ended.account, ended.detail?.fingerprint], ['SESSION_CERT_STATUS_CHANGED', 'acc-rev', roots['rev-root']!.cert.fingerprint]);
      const again = await wss({ clientId: `${clientId}-2`, ...dev });
      try {
        assert.deepEqual({ ...again.connack }, connack(5));
        assert.equal((await fx.auditFor(`${clientId}-2`)).reason, 'ANCHOR_REVOKED');
      } finally {
        await fx.end(again);
      }
    } finally {
      await fx.setCertStatus('rev-root', 'VALID');
      await fx.end(a);
    }
    const back = await waitFor(async () => {
      const r = await wss({ clientId: `${clientId}-3`, ...dev });
      await fx.end(r);
      return r.connack?.returnCode === 0 ? r : undefined;
    }, { what: 'admitted after restore', timeoutMs: 5000 });
    assert.deepEqual({ ...back.connack }, connack(0));
  });

  it('messages cross transports within an account and never reach another account over wss', async () => {
    const as = (device: string, prefix: string) => ({ clientId: `${prefix}-${randomUUID()}`, device: devices[device], username: device, password: PASSWORD });
    // `sub` (wss) and `pub` (8883) share an account; `spy` (wss) is another account's device.
    const [sub, spy, pub] = await Promise.all([wss(as('dev-mtls', 'sub')), wss(as('dev-other', 'spy')), fx.attempt(as('dev-mtls', 'pub'))]);
    try {
      const [got, spied] = [received(sub.client), received(spy.client)];
      await Promise.all([sub, spy].map((a) => a.client.subscribeAsync('#', { qos: 1 })));
      // The other account publishes the same topic first: it must not reach `sub`.
      await spy.client.publishAsync('room/1', 'from another account', { qos: 1 });
      await pub.client.publishAsync('room/1', 'hi', { qos: 1 });
      await waitFor(() => got.includes('room/1:hi'), { what: 'delivery over wss' });
      // A round trip of the spy's own after it: a leaked `hi` would have reached the spy before it.
      await spy.client.publishAsync('marker', 'm', { qos: 1 });
      await waitFor(() => spied.includes('marker:m'), { what: 'the spy\'s own marker' });
      assert.deepEqual({ got, spied }, { got: ['room/1:hi'], spied: ['room/1:from another account', 'marker:m'] });
    } finally {
      await Promise.all([sub, spy, pub].map((a) => fx.end(a)));
    }
  });

  it('negotiates the mqtt subprotocol; refuses another path (404), no mqtt subprotocol (400), bad WebSocket headers (400) and a plain HTTPS request (426)', async () => {
    const m = fx.broker.metrics.wssRefused;
    const counts = () => ({ path: m.get({ reason: 'path' }), subprotocol: m.get({ reason: 'subprotocol' }), handshake: m.get({ reason: 'handshake' }), not_upgrade: m.get({ reason: 'not_upgrade' }) });
    const before = counts();
    const ok = await openWs({ protocols: ['chat', 'mqtt'] });
    assert.equal(ok.ws.protocol, 'mqtt');
    ok.ws.terminate();
    assert.equal((await openWs({ path: '/' })).status, 404);
    assert.equal((await openWs({ path: '/mqtt/x' })).status, 404);
    assert.equal((await openWs({ protocols: ['chat'] })).status, 400);
    assert.equal((await openWs({ protocols: [] })).status, 400);
    const upgrade = (version: string) =>
      `GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`;
    assert.equal(await statusOf(upgrade('12')), 400);
    assert.equal(await statusOf('GET /mqtt HTTP/1.1\r\nHost: localhost\r\n\r\n'), 426);
    assert.deepEqual(counts(), { path: before.path + 2, subprotocol: before.subprotocol + 2, handshake: before.handshake + 1, not_upgrade: before.not_upgrade + 1 });
  });

  /** The status line answering a raw HTTP request over TLS with the device's certificate. */
  const statusOf = (request: string) =>
    new Promise<number>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: fx.broker.wssPort!, ...tlsOf(devices['dev-mtls']), servername: 'localhost' }, () => s.write(request));
      sockets.push(s);
      let text = '';
      s.on('data', (d) => (text += d.toString()));
      s.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      s.once('error', reject);
    });

  it('a CONNECT split over several WebSocket messages is decided; a message may carry several packets', async () => {
    const { ws } = await openWs();
    const packet = connectPacket(`split-${randomUUID()}`, 'dev-mtls', PASSWORD);
    const reply = nextMessage(ws);
    // [MQTT-6.0.0-2]: packets need not be aligned with WebSocket frames.
    for (const part of [packet.subarray(0, 3), packet.subarray(3, 20), packet.subarray(20)]) ws.send(part);
    // The whole CONNACK in one message (aedes writes it in pieces; they are sent together).
    assert.deepEqual([...(await reply)], [0x20, 0x02, 0x00, 0x00]);
    // PINGREQ twice in one message: two PINGRESPs.
    const pongs: number[] = [];
    ws.on('message', (d) => pongs.push(...(d as Buffer)));
    ws.send(Buffer.from([0xc0, 0x00, 0xc0, 0x00]));
    await waitFor(() => pongs.length === 4, { what: 'two PINGRESPs' });
    assert.deepEqual(pongs, [0xd0, 0x00, 0xd0, 0x00]);
    ws.terminate();
  });

  it('a text frame, an oversized WebSocket message, a CONNECT declaring 256 MB and a malformed CONNECT each close the connection at once; the broker keeps serving', async () => {
    const m = fx.broker.metrics;
    const textBefore = m.wssRefused.get({ reason: 'text_frame' });
    const largeBefore = m.packetTooLarge.get({ stage: 'connect' });

    // [MQTT-6.0.0-1] binary frames only: 1003, and nothing of it reaches aedes (a CONNECT in ASCII
    // bytes, which aedes would decide and audit CREDENTIALS_MISSING if it read it).
    const textId = `text-${randomUUID().slice(0, 8)}`;
    const text = await openWs();
    const textClosed = closeOf(text.ws);
    text.ws.send(`\x10${String.fromCharCode(12 + textId.length)}\x00\x04MQTT\x04\x02\x00\x00\x00${String.fromCharCode(textId.length)}${textId}`);
    assert.equal((await textClosed).code, 1003);
    assert.equal(m.wssRefused.get({ reason: 'text_frame' }), textBefore + 1);

    // One message over the bound (the larger of the two MQTT byte limits): ws refuses it with 1009.
    const big = await openWs();
    const bigClosed = closeOf(big.ws);
    big.ws.send(Buffer.alloc(MAX_PACKET_BYTES + 1));
    assert.equal((await bigClosed).code, 1009);
    assert.equal(m.packetTooLarge.get({ stage: 'connect' }), largeBefore + 1);

    // A small message whose MQTT header declares a huge CONNECT: the byte guard, as on the TLS port.
    const header = await openWs();
    const headerClosed = closeOf(header.ws);
    header.ws.send(fixedHeader(0x10, 268_435_455));
    assert.ok((await headerClosed).ms < 2_500, 'closed well before the connect deadline (3 s here)');
    assert.equal(m.packetTooLarge.get({ stage: 'connect' }), largeBefore + 2);

    // A malformed CONNECT (protocol name of length 0): aedes' parser refuses it.
    const garbage = await openWs();
    const garbageClosed = closeOf(garbage.ws);
    garbage.ws.send(Buffer.from([0x10, 0x04, 0x00, 0x00, 0xff, 0xff]));
    assert.ok((await garbageClosed).ms < 2_000, 'closed well before the connect deadline');

    const clientId = `after-${randomUUID()}`;
    const a = await wss({ device: devices['dev-mtls'], clientId, username: 'dev-mtls', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      assert.equal(fx.broker.ready(), true);
      // Audit events are published in order: the text frame's CONNECT would be there by now.
      await fx.auditFor(clientId);
      assert.equal(fx.audit.find((e) => e.device?.clientId === textId), undefined, 'the CONNECT of a text frame reached aedes');
    } finally {
      await fx.end(a);
    }
  });

  it('after CONNECT: an MQTT packet or a WebSocket message beyond TWOWAY_MQTT_MAX_PACKET_BYTES ends the session, audited PACKET_TOO_LARGE', async () => {
    for (const [what, payload, detail] of [
      ['a PUBLISH header declaring 100 MB', fixedHeader(0x30, 100_000_000), { stage: 'session', bytes: 1 + 4 + 100_000_000, limit: MAX_PACKET_BYTES }],
      ['one WebSocket message over the bound', Buffer.alloc(MAX_PACKET_BYTES + 1), { stage: 'session', limit: MAX_PACKET_BYTES, websocketMessage: true }],
    ] as const) {
      const clientId = `big-${randomUUID()}`;
      const a = await wss({ device: devices['dev-mtls'], clientId, username: 'dev-mtls', password: PASSWORD });
      try {
        assert.deepEqual({ ...a.connack }, connack(0));
        // A packet within the bound passes.
        await a.client.publishAsync('t/ok', Buffer.alloc(8_000), { qos: 1 });
        const closed = new Promise<void>((r) => a.client.once('close', () => r()));
        (a.client as unknown as { stream: { write(b: Buffer): void } }).stream.write(payload);
        await closed;
        const ev = await fx.auditFor(clientId, 'session.ended');
        assert.equal(ev.reason, 'PACKET_TOO_LARGE', what);
        assert.deepEqual(ev.detail, detail, what);
      } finally {
        await fx.end(a);
      }
    }
  });

  it('a TLS socket that never upgrades is closed at the connect deadline (stage upgrade); raw sockets count in the per-address bound', async () => {
    const m = fx.broker.metrics;
    const before = m.connectTimeouts.get({ stage: 'upgrade' });
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: fx.broker.wssPort!, servername: 'localhost', ...tlsOf(devices['dev-mtls']) });
      sockets.push(s);
      s.on('data', () => undefined);
      s.once('close', () => resolve());
      s.once('error', () => undefined);
    });
    assert.equal(m.connectTimeouts.get({ stage: 'upgrade' }), before + 1);

    const refused = m.pendingRefused.get({ bound: 'address' });
    const flood = await Promise.all(
      Array.from({ length: 9 }, () =>
        new Promise<Socket>((resolve) => {
          const s = netConnect({ host: '127.0.0.1', port: fx.broker.wssPort! }, () => resolve(s));
          sockets.push(s);
          s.on('error', () => undefined);
        }),
      ),
    );
    await waitFor(() => m.pendingRefused.get({ bound: 'address' }) === refused + 1, { what: 'the oldest of nine closed at the bound of eight' });
    for (const s of flood) s.destroy();
  });

  it('a drain stops the wss listener and ends its sessions gradually (BROKER_DRAINING), not all at once', async () => {
    const replica = await fx.startReplica('broker-wss-drain');
    const prefix = `wdrain-${randomUUID().slice(0, 6)}`;
    const n = 15;
    const live = [];
    for (let i = 0; i < n; i++) live.push(await fx.attemptOn(replica, { transport: 'wss', device: devices['dev-mtls'], clientId: `${prefix}-${i}`, username: 'dev-mtls', password: PASSWORD }));
    const closedAt: number[] = [];
    for (const a of live) {
      assert.deepEqual({ ...a.connack }, connack(0));
      a.client.once('close', () => closedAt.push(Date.now()));
    }
    try {
      const drained = replica.drain();
      assert.equal(replica.ready(), false);
      await drained;
      await waitFor(() => closedAt.length === n, { what: 'every wss session closed' });
      // Five sessions a tick of 100 ms: ended over three ticks, not by closing the HTTPS server.
      assert.ok(Math.max(...closedAt) - Math.min(...closedAt) >= 150, 'the wss sessions ended all at once');
      const ended = await waitFor(() => {
        const ev = fx.audit.filter((e) => e.type === 'session.ended' && e.device?.clientId?.startsWith(`${prefix}-`));
        return ev.length === n ? ev : undefined;
      }, { what: 'a session.ended event per drained session' });
      assert.deepEqual([...new Set(ended.map((e) => e.reason))], ['BROKER_DRAINING']);
      const late = await fx.attemptOn(replica, { transport: 'wss', device: devices['dev-mtls'], clientId: `${prefix}-late`, username: 'dev-mtls', password: PASSWORD });
      await fx.end(late);
      assert.equal(late.connack, undefined, 'a wss connect was accepted during the drain');
      assert.match(String(late.error?.message), /ECONNREFUSED/);
    } finally {
      await Promise.all(live.map((a) => fx.end(a)));
      await replica.stop();
    }
  });
});
