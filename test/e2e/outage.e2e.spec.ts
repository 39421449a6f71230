// NATS outages under `twoway up`: nats-server killed is restarted like a service and the system
// recovers; while it is away an operator whose token was verified before can still suspend a
// certificate, and the change reaches the broker once NATS is back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { System, makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import { tryConnect } from './support/mqtt.js';
import { Operator } from './support/operator.js';
import { httpStatus as status, natsOutage, pidOf } from './support/outage.js';

describe('NATS outage under twoway up', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let pki: TestPki;
  let ca: string;
  const password = 'outage-password-1';
  let seq = 0;

  before(async () => {
    sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn' } });
    op = new Operator(sys);
    ca = await readFile(sys.caFile, 'utf8');
    pki = await makeTestPki({ fresh: true });
  });
  after(async () => {
    await sys?.stop();
  });

  const connect = async (username: string) => {
    const dev = await pki.device(username);
    const clientId = `${username}-${++seq}`;
    return { clientId, ...(await tryConnect(sys.mqttPort, { ca, cert: dev.chainPem, key: dev.keyPem }, { clientId, username, password })) };
  };
  /** Connects until admitted: after NATS comes back the broker resynchronises before it decides again. */
  const admitted = (username: string) =>
    waitFor(
      async () => {
        const r = await connect(username);
        return r.connected ? r.client! : undefined;
      },
      { timeoutMs: 60_000, everyMs: 250, what: `${username} admitted` },
    );
  const closed = (c: MqttClient) => new Promise<void>((resolve) => (c.disconnected ? resolve() : c.once('close', () => resolve())));

  it('nats-server killed with SIGKILL is restarted on the same port and store; devices connect again and /readyz is 200', async () => {
    const acc = await op.account('outage-restart');
    await op.credential(acc, 'restart-dev', password);
    await op.register(acc, 'root', pki.root.certPem);
    (await admitted('restart-dev')).end(true);

    const natsPid = await pidOf(sys, 'nats-server');
    process.kill(natsPid, 'SIGKILL');
    await waitFor(() => /nats-server exited \(SIGKILL\); restart #1 in \d+ ms/.test(sys.proc.log), { timeoutMs: 10_000, what: 'the restart line' });
    await waitFor(async () => (await pidOf(sys, 'nats-server').catch(() => natsPid)) !== natsPid, { timeoutMs: 10_000, what: 'a new nats-server' });
    await waitFor(async () => (await status(`${sys.brokerHttpUrl}/readyz`)) === 200, { timeoutMs: 60_000, what: 'broker /readyz 200 again' });
    await waitFor(async () => (await status(`${sys.apiUrl}/readyz`)) === 200, { timeoutMs: 60_000, what: 'gateway /readyz 200 again' });
    (await admitted('restart-dev')).end(true);
    // The stream survived the restart: a change made now reaches the broker as before.
    const certs = await op.sys.api<{ items: { id: string }[] }>('GET', `/api/v1/accounts/${acc}/certificates`);
    assert.equal(certs.status, 200);
  });

  it('with NATS away, a token verified before the outage still suspends a certificate (200); NATS back, the event is published and the session ends', async (t) => {
    const acc = await op.account('outage-suspend');
    await op.credential(acc, 'suspend-dev', password);
    const root = await op.register(acc, 'root', pki.root.certPem);
    // A second operator token, created before the outage but never used: nothing vouches for it.
    const unseen = await sys.api<{ token: string }>('POST', `/api/v1/accounts/${acc}/tokens`, { name: 'unseen', role: 'admin' });
    assert.equal(unseen.status, 201);
    const session = await admitted('suspend-dev');
    const gone = closed(session);
    t.after(() => session.end(true));
    // The provider token is verified by cert-registry now, just before the outage.
    assert.equal((await sys.api('GET', `/api/v1/accounts/${acc}/certificates/${root.id}`)).status, 200);
    const verifiedAt = Date.now();

    // The outage: `up` paused so it cannot restart NATS yet, then nats-server killed.
    const resume = await natsOutage(sys, t);
    // Past the short token reuse (2 s, TOKEN_FRESH_MS in libs/http): cert-registry must ask
    // account-settings, and cannot. Only time ends the reuse; what is tested is the path taken after it.
    await new Promise((r) => setTimeout(r, Math.max(0, verifiedAt + 2_500 - Date.now())));

    const patched = await sys.api<{ status: string }>('PATCH', `/api/v1/accounts/${acc}/certificates/${root.id}`, { status: 'SUSPENDED' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.status, 'SUSPENDED');
    const refused = await sys.api<{ error: { code: string } }>('PATCH', `/api/v1/accounts/${acc}/certificates/${root.id}`, { status: 'REVOKED' }, unseen.body.token);
    assert.equal(refused.status, 503, 'a token never verified is not honoured during the outage (fail closed)');
    assert.equal(refused.body.error.code, 'UNAVAILABLE');
    assert.equal(session.connected, true, 'the live session waits for the event');

    resume();
    await gone;
    const ended = await waitFor(async () => (await op.audit(acc, { type: 'session.ended' })).find((e) => e.device?.username === 'suspend-dev'), {
      timeoutMs: 60_000,
      what: 'session.ended audit event',
    });
    assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
    const changed = await waitFor(async () => (await op.audit(acc, { type: 'cert.status_changed' })).at(0), { timeoutMs: 30_000, what: 'cert.status_changed audit event' });
    assert.equal(changed.after, 'SUSPENDED');
    const again = await connect('suspend-dev');
    assert.equal(again.connected, false);
    assert.equal(again.returnCode, 5);
    const rejected = await waitFor(async () => (await op.audit(acc, { type: 'connect.rejected', clientId: again.clientId })).at(0), { timeoutMs: 30_000, what: 'connect.rejected audit event' });
    assert.equal(rejected.reason, 'ANCHOR_SUSPENDED');
    // After the outage every token is verified afresh: the unseen one works now.
    const now = await sys.api('GET', `/api/v1/accounts/${acc}/certificates/${root.id}`, undefined, unseen.body.token);
    assert.equal(now.status, 200);
  });
});
