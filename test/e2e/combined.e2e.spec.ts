// `twoway up` as it starts by default: account-settings, cert-registry, audit and the gateway in one
// supervised process (libs/runtime host.ts), the broker and nats-server in their own. The system
// behaves as with one process per service: an operator sets up an account, a device connects over
// mutual TLS and is audited; when the shared process dies it is restarted, and everything answers again.
// `--separate` (TWOWAY_COMBINED=false) gives each service its own process.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { System, makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import { tryConnect } from './support/mqtt.js';

describe('twoway up: the small services in one process by default', { timeout: 240_000 }, () => {
  let sys: System;
  let pki: TestPki;
  let accountId: string;
  const password = 'combined correct horse';

  before(async () => {
    sys = await System.start();
    pki = await makeTestPki({ fresh: true });
  });
  after(async () => {
    await sys?.stop();
  });

  const pidOf = async (name: string) => Number((await readFile(join(sys.dataDir, 'run', `${name}.pid`), 'utf8')).trim());
  const device = async (cn: string) => {
    const d = await pki.device(cn);
    return { ca: await readFile(sys.caFile, 'utf8'), cert: d.chainPem, key: d.keyPem };
  };

  it('runs the four small services in one process, the broker in its own', async () => {
    const run = join(sys.dataDir, 'run');
    assert.ok(existsSync(join(run, 'services.pid')), 'one process for the hosted services');
    assert.ok(existsSync(join(run, 'broker.pid')));
    for (const s of ['account-settings', 'cert-registry', 'audit', 'gateway']) assert.equal(existsSync(join(run, `${s}.pid`)), false, `${s} has no process of its own`);
    assert.match(sys.proc.log, /all but the broker in one process/);
    // Each hosted service still answers on its own port with its own readiness.
    for (const v of ['TWOWAY_ACCOUNT_SETTINGS_HTTP_PORT', 'TWOWAY_CERT_REGISTRY_HTTP_PORT', 'TWOWAY_AUDIT_HTTP_PORT']) {
      const port = await envPort(sys, v);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(r.status, 200, `${v}: ${await r.text()}`);
    }
  });

  it('an operator sets up an account and a device connects over mutual TLS, audited', async () => {
    const acc = await sys.api<{ id: string }>('POST', '/api/v1/accounts', { name: 'combined' });
    assert.equal(acc.status, 201, JSON.stringify(acc.body));
    accountId = acc.body.id;
    assert.equal((await sys.api('PUT', `/api/v1/accounts/${accountId}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } })).status, 200);
    assert.equal((await sys.api('POST', `/api/v1/accounts/${accountId}/credentials`, { username: 'sensor-c', password })).status, 201);
    assert.equal((await sys.api('POST', `/api/v1/accounts/${accountId}/certificates`, { name: 'root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem })).status, 201);
    const r = await tryConnect(sys.mqttPort, await device('sensor-c'), { clientId: 'sensor-c-1', username: 'sensor-c', password });
    r.client?.end(true);
    assert.equal(r.connected, true, r.error);
    const ev = await waitFor(async () => {
      const a = await sys.api<{ items: { reason?: string }[] }>('GET', `/api/v1/accounts/${accountId}/audit?type=connect.accepted&clientId=sensor-c-1`);
      return a.body.items?.[0];
    }, { what: 'the accepted connect in the audit store', timeoutMs: 15_000 });
    assert.equal(ev.reason, 'MUTUAL_TLS');
  });

  it('the shared process killed: the supervisor restarts it, and the API and new connects answer again', async () => {
    const before = await pidOf('services');
    process.kill(before, 'SIGKILL');
    await waitFor(async () => {
      const now = await pidOf('services').catch(() => before);
      if (now === before) return false;
      return (await sys.api('GET', `/api/v1/accounts/${accountId}`).catch(() => ({ status: 0 }))).status === 200;
    }, { what: 'the services process restarted and the API answering', timeoutMs: 60_000, everyMs: 250 });
    const r = await waitFor(async () => {
      const x = await tryConnect(sys.mqttPort, await device('sensor-c'), { clientId: 'sensor-c-2', username: 'sensor-c', password });
      x.client?.end(true);
      return x.connected ? x : undefined;
    }, { what: 'a device connecting after the restart', timeoutMs: 30_000, everyMs: 500 });
    assert.equal(r.connected, true);
  });
});

describe('twoway up --separate (TWOWAY_COMBINED=false): one process per service', { timeout: 120_000 }, () => {
  it('starts each service in its own process, each ready on its own port', async (t) => {
    const sys = await System.start({ env: { TWOWAY_COMBINED: 'false' } });
    t.after(() => sys.stop());
    const run = join(sys.dataDir, 'run');
    assert.equal(existsSync(join(run, 'services.pid')), false, 'no shared process');
    const pids = new Set<number>();
    for (const s of ['account-settings', 'cert-registry', 'audit', 'gateway', 'broker']) {
      pids.add(Number((await readFile(join(run, `${s}.pid`), 'utf8')).trim()));
    }
    assert.equal(pids.size, 5, 'five processes');
    assert.match(sys.proc.log, /one process each/);
    const r = await fetch(`http://127.0.0.1:${await envPort(sys, 'TWOWAY_AUDIT_HTTP_PORT')}/readyz`);
    assert.equal(r.status, 200);
  });
});

/** The port `up` was given for a service (System passes them in the environment of `up`). */
async function envPort(sys: System, name: string): Promise<number> {
  const env = await readFile(`/proc/${sys.proc.child.pid}/environ`, 'utf8');
  const m = new RegExp(`(?:^|\\0)${name}=(\\d+)`).exec(env);
  if (!m) throw new Error(`${name} not in the environment of twoway up`);
  return Number(m[1]);
}
