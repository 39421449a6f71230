// The MQTT TLS listener on its own: certificate rotation without restart, the per-address bound on
// unauthenticated sockets, and the TLS floor.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { issueServerCert } from '@twoway/pki';
import { makeTestPki, tempDir, waitFor, type TestPki } from '@twoway/testing';
import { BrokerMetrics } from '../http/metrics.js';
import { MqttListeners, type TlsMaterial } from './listener.js';

const log = pino({ level: 'silent' });

describe('MQTT TLS listener', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let pki: TestPki;
  let l: MqttListeners;
  const metrics = new BrokerMetrics();
  const held: Socket[] = [];

  before(async () => {
    dir = await tempDir();
    pki = await makeTestPki();
    await writeFile(join(dir.path, 'server.pem'), pki.server.chainPem);
    await writeFile(join(dir.path, 'server.key'), pki.server.keyPem);
    l = await startListener({ certFile: join(dir.path, 'server.pem'), keyFile: join(dir.path, 'server.key') });
  });
  const startListener = (tls: TlsMaterial) =>
    MqttListeners.start({
      host: '127.0.0.1', port: 0, plainPort: undefined, wssPort: 0,
      tls,
      connectDeadlineMs: 5000, maxPendingPerIp: 3, maxPending: 100, log, metrics,
      byteLimits: { beforeDecisionBytes: 64 * 1024, maxPacketBytes: 256 * 1024 },
      onTooLarge: () => undefined,
      // Sockets stay unauthenticated: nothing decides them in this test.
      handle: (s) => void held.push(s as Socket),
      onDeadline: () => undefined,
    });
  after(async () => {
    for (const s of held) s.destroy();
    await l?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  const servedFingerprint = (port = l.tlsPort) =>
    new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.root.certPem }, () => {
        const fp = s.getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase();
        s.destroy();
        resolve(fp);
      });
      s.once('error', reject);
    });

  it('serves a rotated certificate without restart on the TLS and wss ports (files replaced by rename, as Kubernetes and editors do)', async () => {
    assert.equal(await servedFingerprint(), pki.server.cert.fingerprint);
    assert.equal(await servedFingerprint(l.wssPort), pki.server.cert.fingerprint);
    const next = await issueServerCert({ issuer: pki.intermediate, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1'] });
    await writeFile(join(dir.path, 'server.key.new'), next.keyPem);
    await writeFile(join(dir.path, 'server.pem.new'), next.chainPem);
    await rename(join(dir.path, 'server.key.new'), join(dir.path, 'server.key'));
    await rename(join(dir.path, 'server.pem.new'), join(dir.path, 'server.pem'));
    await waitFor(async () => (await servedFingerprint()) === next.cert.fingerprint, { what: 'the rotated certificate' });
    assert.equal(await servedFingerprint(l.wssPort), next.cert.fingerprint);
  });

  it('at the per-address cap of unauthenticated sockets, closes that address\'s oldest to admit the newcomer', async () => {
    const before = metrics.pendingRefused.get({ bound: 'address' });
    const open = () =>
      new Promise<Socket>((resolve) => {
        const s = netConnect({ host: '127.0.0.1', port: l.tlsPort }, () => resolve(s));
        s.on('error', () => undefined);
      });
    const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed && s.readyState === 'closed' ? r() : s.once('close', () => r())));
    const sockets = [await open(), await open(), await open()];
    try {
      const fourth = await open();
      sockets.push(fourth);
      await closed(sockets[0]!);
      assert.equal(metrics.pendingRefused.get({ bound: 'address' }), before + 1);
      assert.equal(fourth.destroyed, false, 'the newcomer stays');
      await waitFor(() => l.pendingSockets === 3, { what: 'three pending' });
    } finally {
      await Promise.all(sockets.map((s) => {
        const c = closed(s);
        s.destroy();
        return c;
      }));
    }
    // The slots are released when the server sees the sockets close.
    await waitFor(() => l.pendingSockets === 0, { what: 'slots released' });
  });

  it('offers only forward-secret AEAD suites for TLS 1.2 (no CBC, no static RSA)', async (t) => {
    // What a TLS 1.2 client offering only `ciphers` gets: the suite agreed, or the alert it received.
    const tryCipher = (port: number, ciphers: string) =>
      new Promise<string>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.root.certPem, maxVersion: 'TLSv1.2', ciphers }, () => {
          resolve(s.getCipher().standardName);
          s.destroy();
        });
        s.once('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
      });
    // No suite in common: the server's handshake_failure alert (RFC 5246 §7.4.1.3).
    const refused = 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
    assert.equal(await tryCipher(l.tlsPort, 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256'), 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    assert.equal(await tryCipher(l.tlsPort, 'ECDHE-ECDSA-AES128-SHA256'), refused);
    // Static RSA key exchange needs an RSA server key (an EC certificate never agrees it), so it is
    // asked of a listener serving an RSA certificate, which has keyEncipherment for it.
    const rsa = await issueServerCert({ issuer: pki.intermediate, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1'], keyAlgorithm: 'rsa-2048' });
    const rl = await startListener({ certPem: rsa.chainPem, keyPem: rsa.keyPem });
    t.after(() => rl.stop());
    assert.equal(await tryCipher(rl.tlsPort, 'ECDHE-RSA-AES128-GCM-SHA256'), 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.deepEqual(
      Object.fromEntries(await Promise.all(['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256', 'AES128-SHA', 'ECDHE-RSA-AES128-SHA256'].map(async (c) => [c, await tryCipher(rl.tlsPort, c)]))),
      { 'AES128-GCM-SHA256': refused, 'AES256-GCM-SHA384': refused, 'AES128-SHA256': refused, 'AES128-SHA': refused, 'ECDHE-RSA-AES128-SHA256': refused },
    );
  });
});
