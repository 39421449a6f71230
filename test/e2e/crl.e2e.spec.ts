// CRLs and revoked serials across the whole system (`twoway up`, a second broker replica, real TLS and
// MQTT clients, the REST API and the CLI): a CRL uploaded for a CA refuses the devices it lists and ends
// their live sessions on every replica; one device revoked by serial with the CLI, then restored; a CRL
// fetched from a distribution point served by this test; a stale CRL under both account policies.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { System, crlPem, issueCrl, opensslCrl, waitFor } from '@twoway/testing';
import { createRootCa, issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { tryConnect } from './support/mqtt.js';
import { Operator } from './support/operator.js';

const run = promisify(execFile);
const DAY_MS = 86_400_000;
const password = 'crl-device-password-1';
let seq = 0;

describe('CRLs and revoked serials reach every broker', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let ca: string;
  let replicaPort: number;
  let root: Issued;
  let inter: Issued;
  let acc: string;
  let interId: string;
  const dev: Record<string, Issued> = {};

  before(async () => {
    sys = await System.start();
    op = new Operator(sys);
    ca = await readFile(sys.caFile, 'utf8');
    replicaPort = (await sys.startBrokerReplica()).mqttPort;
    root = await createRootCa({ commonName: 'e2e CRL root' });
    inter = await issueIntermediateCa({ issuer: root, commonName: 'e2e CRL batch' });
    acc = await op.account('crl-estate');
    await op.register(acc, 'root', root.certPem);
    interId = (await op.register(acc, 'batch', inter.certPem)).id;
    for (const name of ['listed', 'clean', 'live', 'cli', 'fetched']) {
      dev[name] = await issueDeviceCert({ issuer: inter, commonName: `crl-${name}` });
      await op.credential(acc, `crl-${name}`, password);
    }
  });
  after(async () => {
    await sys?.stop();
  });

  const connectAs = (name: string, port = sys.mqttPort, clientId = `crl-${name}-${++seq}`) =>
    tryConnect(port, { ca, cert: dev[name]!.certPem + inter.certPem, key: dev[name]!.keyPem }, { clientId, username: `crl-${name}`, password });
  const closed = (c: MqttClient) => new Promise<void>((resolve) => (c.disconnected ? resolve() : c.once('close', () => resolve())));
  const upload = (der: Uint8Array, id = interId, account = acc) => sys.api('PUT', `/api/v1/accounts/${account}/certificates/${id}/crl`, { crl: crlPem(der) });
  const auditOf = (type: string, clientId: string, account = acc) =>
    waitFor(async () => (await op.audit(account, { type })).find((e) => e.device?.clientId === clientId), { what: `${type} of ${clientId}` });
  /** The brokers apply a change a moment after the REST answer: a connect racing it may still be decided the old way. */
  const refusedSoon = async (name: string) => {
    for (const until = Date.now() + 2_000; ; await new Promise((r) => setTimeout(r, 25))) {
      const r = await connectAs(name);
      if (!r.connected) return r;
      await r.client!.endAsync();
      if (Date.now() > until) assert.fail(`${name} still admitted 2 s after its revocation`);
    }
  };

  it('a CRL uploaded for the intermediate refuses the device it lists (CERT_REVOKED_BY_CRL) and admits the others', async () => {
    const r = await upload(await opensslCrl(inter, [dev.listed!.cert.serial], { number: 1 }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.crl.entries, 1);
    const refused = await refusedSoon('listed');
    assert.equal(refused.returnCode, 5);
    const ev = await waitFor(async () => (await op.audit(acc, { type: 'connect.rejected', username: 'crl-listed' })).at(0), { what: 'the refusal' });
    assert.equal(ev.reason, 'CERT_REVOKED_BY_CRL');
    const ok = await connectAs('clean');
    assert.equal(ok.connected, true, ok.error);
    await ok.client!.endAsync();
  });

  it('a newer CRL listing a live device ends its sessions on both broker replicas', async () => {
    const a = await connectAs('live', sys.mqttPort, 'crl-live-a');
    const b = await connectAs('live', replicaPort, 'crl-live-b');
    assert.equal(a.connected && b.connected, true, `${a.error} ${b.error}`);
    const gone = Promise.all([closed(a.client!), closed(b.client!)]);
    const r = await upload(issueCrl(inter, { serials: [dev.listed!.cert.serial, dev.live!.cert.serial], number: 2 }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await gone;
    for (const clientId of ['crl-live-a', 'crl-live-b']) {
      const ended = await auditOf('session.ended', clientId);
      assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
      assert.equal((ended.detail as { decision?: string }).decision, 'CERT_REVOKED_BY_CRL');
    }
    // An older CRL cannot undo it.
    const older = await upload(issueCrl(inter, { serials: [], number: 1 }));
    assert.equal(older.status, 409);
    assert.equal(older.body.error.code, 'CRL_OUTDATED');
  });

  it('one device revoked by serial with the CLI (no certificate) loses its session and is refused; restored, it is admitted again', async () => {
    const cli = (...args: string[]) => run(process.execPath, [join(process.cwd(), 'apps/cli/bin/twoway.mjs'), 'certs', ...args, '--account', acc], { env: { ...process.env, TWOWAY_URL: sys.apiUrl, TWOWAY_TOKEN: sys.token } });
    const live = await connectAs('cli', sys.mqttPort, 'crl-cli-live');
    assert.equal(live.connected, true, live.error);
    const gone = closed(live.client!);
    const serial = dev.cli!.cert.serial.toUpperCase().match(/.{1,2}/g)!.join(':');
    const revoked = await cli('revoke-serial', interId, serial, '--reason', 'keyCompromise');
    assert.match(revoked.stdout, /^revoked serial [0-9a-f]+ under .* \(keyCompromise\)\n$/);
    await gone;
    assert.equal(((await auditOf('session.ended', 'crl-cli-live')).detail as { decision?: string }).decision, 'CERT_SERIAL_REVOKED');
    const refused = await refusedSoon('cli');
    assert.equal(refused.returnCode, 5);
    const listed = await cli('serials', interId);
    assert.match(listed.stdout, /keyCompromise/);
    await cli('restore-serial', interId, serial);
    const back = await waitFor(async () => {
      const r = await connectAs('cli');
      return r.connected ? r : undefined;
    }, { what: 'admitted again after the restore', everyMs: 50, timeoutMs: 5_000 });
    await back.client!.endAsync();
    const state = await cli('crl', interId);
    assert.match(state.stdout, /crl:\s+number 2, 2 serials, uploaded/);
  });

  it('a CRL fetched from the CA\'s distribution point refuses the device it lists', async () => {
    let served = issueCrl(inter, { serials: [dev.listed!.cert.serial, dev.live!.cert.serial, dev.fetched!.cert.serial], number: 3 });
    const server: Server = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(Buffer.from(served)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/batch.crl`;
      const set = await sys.api('PUT', `/api/v1/accounts/${acc}/certificates/${interId}/crl/distribution-point`, { url });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      await waitFor(async () => (await sys.api('GET', `/api/v1/accounts/${acc}/certificates/${interId}/crl`)).body.crl?.number === '3', { what: 'the fetched CRL stored' });
      const refused = await refusedSoon('fetched');
      assert.equal(refused.returnCode, 5);
      served = issueCrl(inter, { serials: [], number: 4 });
      const now = await sys.api('POST', `/api/v1/accounts/${acc}/certificates/${interId}/crl/fetch`);
      assert.equal(now.status, 200, JSON.stringify(now.body));
      assert.equal(now.body.crl.entries, 0);
      const back = await waitFor(async () => {
        const r = await connectAs('fetched');
        return r.connected ? r : undefined;
      }, { what: 'admitted once the fetched CRL no longer lists it', everyMs: 50, timeoutMs: 5_000 });
      await back.client!.endAsync();
    } finally {
      await sys.api('PUT', `/api/v1/accounts/${acc}/certificates/${interId}/crl/distribution-point`, { url: null });
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a stale CRL: admitted with the warning in the audit event by default (accept), refused CRL_STALE where the account refuses stale CRLs', async () => {
    const staleCa = await issueIntermediateCa({ issuer: root, commonName: 'e2e stale batch' });
    const device = await issueDeviceCert({ issuer: staleCa, commonName: 'crl-stale' });
    const crl = issueCrl(staleCa, { serials: ['0abc'], number: 1, thisUpdate: new Date(Date.now() - 9 * DAY_MS), nextUpdate: new Date(Date.now() - 2 * DAY_MS) });
    const outcome: Record<string, { connected: boolean; returnCode?: number }> = {};
    for (const policy of ['accept', 'refuse'] as const) {
      const account = await op.account(`crl-stale-${policy}`);
      if (policy === 'refuse') await op.settings(account, { revocation: { staleCrl: 'refuse' } });
      await op.register(account, 'root', root.certPem);
      const id = (await op.register(account, 'stale batch', staleCa.certPem)).id;
      const r = await upload(crl, id, account);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.crl.stale, true);
      await op.credential(account, `crl-stale-${policy}`, password);
      const clientId = `crl-stale-${policy}-${++seq}`;
      const c = await tryConnect(sys.mqttPort, { ca, cert: device.certPem + staleCa.certPem, key: device.keyPem }, { clientId, username: `crl-stale-${policy}`, password });
      outcome[policy] = { connected: c.connected, ...(c.returnCode !== undefined ? { returnCode: c.returnCode } : {}) };
      if (c.connected) await c.client!.endAsync();
      const ev = await auditOf(policy === 'accept' ? 'connect.accepted' : 'connect.rejected', clientId, account);
      if (policy === 'accept') assert.equal((ev.detail as { staleCrl?: { nextUpdate?: string } }).staleCrl?.nextUpdate, r.body.crl.nextUpdate);
      else assert.equal(ev.reason, 'CRL_STALE');
    }
    assert.deepEqual(outcome, { accept: { connected: true }, refuse: { connected: false, returnCode: 5 } });
  });
});
