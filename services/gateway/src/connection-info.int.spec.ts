// GET /api/v1/connection-info on a real gateway: the token is checked by account-settings (a fake here),
// the endpoints follow the settings, and the server CA file is served as certificates only — never a key.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createLogger } from '@twoway/telemetry';
import { freePort, makeTestPki, tempDir, type TestPki } from '@twoway/testing';
import { loadConfig } from '@twoway/config';
import type { ConnectionInfo } from '@twoway/contracts';
import { gatewaySchema } from './config.js';
import { Gateway } from './service.js';
import { endpoints, readServerCa, serverCaFile } from './http/connection-info.js';

describe('connection info', () => {
  let gw: Gateway;
  let accountSettings: FastifyInstance;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let pki: TestPki;
  let caFile: string;
  before(async () => {
    dir = await tempDir();
    pki = await makeTestPki();
    caFile = `${dir.path}/server-ca.pem`;
    await writeFile(caFile, `# the broker's CA\n${pki.root.certPem}`);
    accountSettings = Fastify();
    accountSettings.get('/readyz', async () => ({ status: 'ready' }));
    accountSettings.get('/api/v1/whoami', async (req, reply) =>
      req.headers.authorization === 'Bearer good'
        ? { principal: { tokenId: 't', name: 'n', accountId: 'a', role: 'operator', provider: false } }
        : reply.status(401).send({ error: { code: 'UNAUTHENTICATED', message: 'A valid bearer token is required.' } }),
    );
    const asUrl = await accountSettings.listen({ port: 0, host: '127.0.0.1' });
    const down = `http://127.0.0.1:${await freePort()}`;
    gw = await Gateway.start(
      loadConfig(gatewaySchema, {
        TWOWAY_HTTP_PORT: '0',
        TWOWAY_ACCOUNT_SETTINGS_URL: asUrl,
        TWOWAY_CERT_REGISTRY_URL: down,
        TWOWAY_AUDIT_URL: down,
        TWOWAY_CONSOLE_DIR: '/nonexistent',
        TWOWAY_DATA_DIR: dir.path,
        TWOWAY_MQTT_PORT: '18883',
        TWOWAY_MQTT_WSS_PORT: '18884',
        TWOWAY_SERVER_CA_FILE: caFile,
      }),
      { log: createLogger('gateway', 'silent') },
    );
  });
  after(async () => {
    await gw?.stop();
    await accountSettings?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  const get = async (token?: string) => {
    const r = await fetch(`${gw.httpUrl}/api/v1/connection-info`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: r.status, body: (await r.json()) as any };
  };

  it('answers only a valid token, with account-settings\' refusal as it is', async () => {
    for (const token of [undefined, 'forged']) {
      assert.deepEqual(await get(token), { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'A valid bearer token is required.' } } });
    }
  });

  it('gives the broker endpoints and the server CA, certificates only, re-encoded', async () => {
    const { status, body } = await get('good');
    assert.equal(status, 200);
    const info = body as ConnectionInfo;
    assert.deepEqual(info.mqtt, { host: '127.0.0.1', port: 18883, url: 'mqtts://127.0.0.1:18883' });
    assert.deepEqual(info.wss, { host: '127.0.0.1', port: 18884, path: '/mqtt', url: 'wss://127.0.0.1:18884/mqtt' });
    assert.equal(info.serverCa?.pem, pki.root.cert.pem);
    assert.deepEqual(info.serverCa?.certificates, [{ subject: pki.root.cert.subject, fingerprint: pki.root.cert.fingerprint, notAfter: pki.root.cert.notAfter.toISOString() }]);
  });

  it('serves no CA at all when the file holds a private key, and logs why without the content', async () => {
    await writeFile(caFile, pki.root.certPem + pki.root.keyPem);
    const { body } = await get('good');
    assert.equal(body.serverCa, null);
    assert.ok(!JSON.stringify(body).includes('PRIVATE KEY'));
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    assert.equal(await readServerCa(caFile, log), null);
    assert.match(lines.join(''), /"code":"CERT_PRIVATE_KEY_REJECTED".*server CA file not served/);
    assert.ok(!lines.join('').includes(pki.root.keyPem.split('\n')[1]!), 'no key material in the log');
    assert.equal(await readServerCa(`${dir.path}/missing.pem`, log), null, 'a missing file is no CA, not an error');
    await writeFile(caFile, pki.root.certPem);
  });

  it('answers 503 UNAVAILABLE when the token cannot be checked', async () => {
    await accountSettings.close();
    const r = await get('good');
    assert.deepEqual([r.status, r.body.error.code], [503, 'UNAVAILABLE']);
  });
});

describe('connection endpoints from the settings', () => {
  // Unset optional settings are absent (loadConfig leaves them undefined).
  const base = { mqttPort: 8883 } as Parameters<typeof endpoints>[0];
  const cases: [string, Partial<typeof base>, string, ReturnType<typeof endpoints>][] = [
    ['nothing set: the host the console was reached at, the brokers\' port, no wss', {}, 'twoway.local', { mqtt: { host: 'twoway.local', port: 8883, url: 'mqtts://twoway.local:8883' }, wss: null }],
    ['the public settings win over the listeners\'', { mqttWssPort: 8884, publicMqttHost: 'mqtt.example.com', publicMqttPort: 443, publicMqttWssPort: 8443 }, '10.0.0.1', {
      mqtt: { host: 'mqtt.example.com', port: 443, url: 'mqtts://mqtt.example.com:443' },
      wss: { host: 'mqtt.example.com', port: 8443, path: '/mqtt', url: 'wss://mqtt.example.com:8443/mqtt' },
    }],
    ['an IPv6 host: bare in host, bracketed in URLs', { mqttWssPort: 8884 }, '[::1]', {
      mqtt: { host: '::1', port: 8883, url: 'mqtts://[::1]:8883' },
      wss: { host: '::1', port: 8884, path: '/mqtt', url: 'wss://[::1]:8884/mqtt' },
    }],
    ['a Host header that is no host name is not echoed', {}, 'x;rm -rf ~', { mqtt: { host: 'localhost', port: 8883, url: 'mqtts://localhost:8883' }, wss: null }],
  ];
  for (const [name, settings, host, expected] of cases) it(name, () => assert.deepEqual(endpoints({ ...base, ...settings }, host), expected));
});

describe('which server CA file', () => {
  it('is TWOWAY_SERVER_CA_FILE when set; else the dev root of twoway up, unless the brokers serve their own certificate', async () => {
    await using dir = await tempDir();
    await mkdir(`${dir.path}/pki`);
    await writeFile(`${dir.path}/pki/ca.pem`, 'dev root');
    const base = { dataDir: dir.path } as Parameters<typeof serverCaFile>[0];
    assert.equal(serverCaFile({ ...base, serverCaFile: '/etc/ca.pem' }), '/etc/ca.pem');
    assert.equal(serverCaFile(base), `${dir.path}/pki/ca.pem`);
    assert.equal(serverCaFile({ ...base, tlsCertFile: '/etc/own/server.pem' }), undefined, 'the dev root did not issue the operator\'s certificate');
    assert.equal(serverCaFile({ dataDir: `${dir.path}/nothing` } as Parameters<typeof serverCaFile>[0]), undefined);
  });
});
