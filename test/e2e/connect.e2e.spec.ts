// The walking skeleton end to end: `twoway up` starts every process; an operator sets up an
// account over REST; real devices (mosquitto and the mqtt package) connect over real TLS; the audit
// API shows each attempt with its outcome and precise reason.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { System, makeTestPki, tempDir, waitFor, type TestPki } from '@twoway/testing';
import { createRootCa, issueDeviceCert } from '@twoway/pki';
import { tryConnect, mosquittoPub, mosquittoSub } from './support/mqtt.js';

describe('walking skeleton: mutual-TLS device connect end to end', { timeout: 240_000 }, () => {
  let sys: System;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let pki: TestPki;
  let accountId: string;
  let serverCa: string;
  const password = 'correct horse battery staple';
  const files: Record<string, string> = {};

  before(async () => {
    dir = await tempDir('twoway-e2e-files-');
    sys = await System.start();
    serverCa = await readFile(sys.caFile, 'utf8');
    pki = await makeTestPki({ fresh: true });
    const dev = await pki.device('sensor-1');
    // A CA of its own names, never registered anywhere: its devices reach no anchor.
    const strangerRoot = await createRootCa({ commonName: 'Stranger Devices Root' });
    const stranger = await issueDeviceCert({ issuer: strangerRoot, commonName: 'sensor-1' });
    for (const [name, v] of Object.entries({ 'dev.pem': dev.chainPem, 'dev.key': dev.keyPem, 'stranger.pem': stranger.chainPem, 'stranger.key': stranger.keyPem })) {
      files[name] = join(dir.path, name);
      await writeFile(files[name]!, v, { mode: 0o600 });
    }
    files.devPem = dev.chainPem;
    files.devKey = dev.keyPem;
    files.strangerPem = stranger.chainPem;
    files.strangerKey = stranger.keyPem;

    const acc = await sys.api<{ id: string }>('POST', '/api/v1/accounts', { name: 'fleet-a' });
    assert.equal(acc.status, 201, JSON.stringify(acc.body));
    accountId = acc.body.id;
    const s = await sys.api('PUT', `/api/v1/accounts/${accountId}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    const c = await sys.api('POST', `/api/v1/accounts/${accountId}/credentials`, { username: 'sensor-1', password });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const r = await sys.api('POST', `/api/v1/accounts/${accountId}/certificates`, { name: 'fleet root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
  after(async () => {
    await sys?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  const auditFor = async (clientId: string, type: string) => {
    const r = await sys.api<{ items: { type: string; reason?: string; outcome?: string; device?: { clientId?: string; certificateFingerprint?: string } }[] }>(
      'GET',
      `/api/v1/accounts/${accountId}/audit?type=${type}&clientId=${encodeURIComponent(clientId)}`,
    );
    return r.status === 200 ? r.body.items : [];
  };

  it('a device with a registered chain and the right password connects, and a message round-trips (mosquitto_sub ← mosquitto_pub)', async () => {
    const f = { caFile: sys.caFile, certFile: files['dev.pem'], keyFile: files['dev.key'] };
    const sub = mosquittoSub(sys.mqttPort, f, { clientId: 'sensor-1-sub', username: 'sensor-1', password }, 'fleet/sensor-1/#', 1);
    try {
      await sub.ready;
      const pub = await mosquittoPub(sys.mqttPort, f, { clientId: 'sensor-1-pub', username: 'sensor-1', password }, 'fleet/sensor-1/temp', '21.5');
      assert.equal(pub.code, 0, pub.output);
      const res = await sub.exited;
      assert.match(res.output, /21\.5/);
    } finally {
      await sub.stop();
    }
    const items = await waitFor(async () => (await auditFor('sensor-1-pub', 'connect.accepted')).at(0), { what: 'accepted audit event', timeoutMs: 15_000 });
    assert.equal(items.outcome, 'accepted');
    assert.equal(items.reason, 'MUTUAL_TLS');
    assert.match(items.device?.certificateFingerprint ?? '', /^[0-9a-f]{64}$/);
  });

  it('the mqtt package connects with the same device and gets its own message back', async () => {
    const r = await tryConnect(sys.mqttPort, { ca: serverCa, cert: files.devPem, key: files.devKey }, { clientId: 'sensor-1-js', username: 'sensor-1', password });
    assert.equal(r.connected, true, r.error);
    const client = r.client!;
    try {
      await client.subscribeAsync('fleet/js/echo', { qos: 1 });
      const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      await client.publishAsync('fleet/js/echo', 'ping', { qos: 1 });
      assert.equal(await got, 'ping');
    } finally {
      await client.endAsync();
    }
  });

  it('no client certificate is refused when only mutual TLS is on (CONNACK 5, MTLS_REQUIRED)', async () => {
    const r = await tryConnect(sys.mqttPort, { ca: serverCa }, { clientId: 'no-cert', username: 'sensor-1', password });
    assert.equal(r.connected, false);
    assert.equal(r.returnCode, 5);
    const pub = await mosquittoPub(sys.mqttPort, { caFile: sys.caFile }, { clientId: 'no-cert-mosq', username: 'sensor-1', password }, 't', 'x');
    assert.notEqual(pub.code, 0);
    assert.match(pub.output, /Connection Refused: not authorised/);
    for (const clientId of ['no-cert-mosq', 'no-cert']) {
      const ev = await waitFor(async () => (await auditFor(clientId, 'connect.rejected')).at(0), { what: `rejected audit event of ${clientId}`, timeoutMs: 15_000 });
      assert.equal(ev.reason, 'MTLS_REQUIRED', clientId);
    }
  });

  it('a certificate from an unregistered CA is refused (CHAIN_UNTRUSTED)', async () => {
    const r = await tryConnect(sys.mqttPort, { ca: serverCa, cert: files.strangerPem, key: files.strangerKey }, { clientId: 'stranger', username: 'sensor-1', password });
    assert.equal(r.connected, false);
    assert.equal(r.returnCode, 5);
    const pub = await mosquittoPub(sys.mqttPort, { caFile: sys.caFile, certFile: files['stranger.pem'], keyFile: files['stranger.key'] }, { clientId: 'stranger-mosq', username: 'sensor-1', password }, 't', 'x');
    assert.notEqual(pub.code, 0);
    assert.match(pub.output, /Connection Refused: not authorised/);
    for (const clientId of ['stranger-mosq', 'stranger']) {
      const ev = await waitFor(async () => (await auditFor(clientId, 'connect.rejected')).at(0), { what: `rejected audit event of ${clientId}`, timeoutMs: 15_000 });
      assert.equal(ev.reason, 'CHAIN_UNTRUSTED', clientId);
    }
  });

  it('the right certificate with a wrong password is refused (CONNACK 4, BAD_CREDENTIALS)', async () => {
    const r = await tryConnect(sys.mqttPort, { ca: serverCa, cert: files.devPem, key: files.devKey }, { clientId: 'wrong-pw', username: 'sensor-1', password: 'not the password' });
    assert.equal(r.connected, false);
    assert.equal(r.returnCode, 4);
    const pub = await mosquittoPub(sys.mqttPort, { caFile: sys.caFile, certFile: files['dev.pem'], keyFile: files['dev.key'] }, { clientId: 'wrong-pw-mosq', username: 'sensor-1', password: 'nope-nope' }, 't', 'x');
    assert.notEqual(pub.code, 0);
    assert.match(pub.output, /Connection Refused: bad user name or password/);
    for (const clientId of ['wrong-pw-mosq', 'wrong-pw']) {
      const ev = await waitFor(async () => (await auditFor(clientId, 'connect.rejected')).at(0), { what: `rejected audit event of ${clientId}`, timeoutMs: 15_000 });
      assert.equal(ev.reason, 'BAD_CREDENTIALS', clientId);
    }
  });
});
