// Regression: a parent account's `subtree=true` audit query returned almost none of its sub-accounts'
// events, because the publishers left `accountPath` out. With the whole system and real devices: a
// child account's connects (accepted, refused with a known credential), the session a suspension
// ends, and its certificate, settings, credential and account changes all reach the parent's
// admin through the subtree query, and only through it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { System, makeTestPki, waitFor } from '@twoway/testing';
import { tryConnect } from './support/mqtt.js';
import { Operator, type AuditItem } from './support/operator.js';

describe('audit: a parent account sees its sub-accounts through subtree queries', { timeout: 240_000 }, () => {
  let sys: System;
  let provider: Operator;
  let parentAdmin: Operator;
  let parent: string;
  let child: string;
  let rootCertId: string;
  const password = 'subtree-password-1';

  before(async () => {
    sys = await System.start();
    provider = new Operator(sys);
    parent = await provider.account('subtree-parent');
    const token = await sys.api<{ token: string }>('POST', `/api/v1/accounts/${parent}/tokens`, { name: 'parent admin', role: 'admin' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    parentAdmin = new Operator(sys, token.body.token);
    // Making mutual TLS available is the provider's; the rest is what any parent's child would have.
    child = await provider.account('subtree-child', { parentId: parent });
    await parentAdmin.credential(child, 'subtree-dev', password);
    const pki = await makeTestPki({ fresh: true });
    rootCertId = (await parentAdmin.register(child, 'child fleet root', pki.root.certPem)).id;

    const ca = await readFile(sys.caFile, 'utf8');
    const dev = await pki.device('subtree-dev');
    const tls = { ca, cert: dev.chainPem, key: dev.keyPem };
    const live = await tryConnect(sys.mqttPort, tls, { clientId: 'subtree-live', username: 'subtree-dev', password });
    assert.equal(live.connected, true, live.error);
    const refused = await tryConnect(sys.mqttPort, tls, { clientId: 'subtree-refused', username: 'subtree-dev', password: 'not-the-password' });
    assert.equal(refused.returnCode, 4);
    // Suspending the child's anchor ends the live session (session.ended, published by the broker).
    const client = live.client as MqttClient;
    const closed = new Promise<void>((resolve) => (client.disconnected ? resolve() : client.once('close', () => resolve())));
    await parentAdmin.setStatus(child, rootCertId, 'SUSPENDED');
    await closed;
    // A refusal no account is behind: a username nobody registered.
    const stranger = await tryConnect(sys.mqttPort, { ca }, { clientId: 'subtree-stranger', username: 'nobody-here', password });
    assert.equal(stranger.returnCode, 4);
  });
  after(async () => {
    await sys?.stop();
  });

  /** What a query answers once it holds every expected event (the store consumes asynchronously). */
  const until = (as: Operator, account: string, query: Record<string, string>, expected: ((e: AuditItem) => boolean)[]) =>
    waitFor(
      async () => {
        const items = await as.audit(account, { limit: '1000', ...query });
        return expected.every((p) => items.some(p)) ? items : undefined;
      },
      { what: `audit of ${account} ${JSON.stringify(query)} to hold every expected event`, timeoutMs: 20_000 },
    );
  const ofChild = (type: string, more: (e: AuditItem) => boolean = () => true) => (e: AuditItem) => e.account === child && e.type === type && more(e);
  const expected = [
    ofChild('connect.accepted', (e) => e.device?.clientId === 'subtree-live' && e.reason === 'MUTUAL_TLS'),
    ofChild('connect.rejected', (e) => e.device?.clientId === 'subtree-refused' && e.reason === 'BAD_CREDENTIALS'),
    ofChild('session.ended', (e) => e.device?.clientId === 'subtree-live' && e.reason === 'SESSION_CERT_STATUS_CHANGED'),
    ofChild('cert.added', (e) => e.certificateId === rootCertId),
    ofChild('cert.status_changed', (e) => e.certificateId === rootCertId && e.after === 'SUSPENDED'),
    ofChild('settings.changed'),
    ofChild('credential.added'),
    ofChild('account.created'),
  ];

  it("the parent's admin finds the child's connect, session, certificate and administrative events with subtree=true", async () => {
    const items = await until(parentAdmin, parent, { subtree: 'true' }, expected);
    // Each carries the child's ancestry, self first, as the store matched it.
    for (const e of items.filter((x) => x.account === child)) assert.deepEqual(e.accountPath, [child, parent, 'provider'], `${e.type} ${JSON.stringify(e.accountPath)}`);
    // The filters still apply inside the subtree.
    const connects = await until(parentAdmin, parent, { subtree: 'true', type: 'connect.*' }, expected.slice(0, 2));
    assert.deepEqual([...new Set(connects.map((e) => e.type))].sort(), ['connect.accepted', 'connect.rejected']);
    const certs = await until(parentAdmin, parent, { subtree: 'true', certificate: rootCertId }, expected.slice(3, 5));
    assert.deepEqual(certs.map((e) => e.type).sort(), ['cert.added', 'cert.status_changed']);
  });

  it('the provider finds them two levels down', async () => {
    await until(provider, 'provider', { subtree: 'true' }, expected);
  });

  it('refusals with no account behind them reach the provider (subtree) and nobody else', async () => {
    const stranger = (e: AuditItem) => e.account === null && e.device?.clientId === 'subtree-stranger' && e.reason === 'BAD_CREDENTIALS';
    const items = await until(provider, 'provider', { subtree: 'true', clientId: 'subtree-stranger' }, [stranger]);
    assert.deepEqual(items.map((e) => e.device?.username), ['nobody-here']);
    const byUsername = await provider.audit('provider', { subtree: 'true', username: 'nobody-here' });
    assert.equal(byUsername.length, 1);
    assert.deepEqual((await parentAdmin.audit(parent, { subtree: 'true', limit: '1000' })).filter((e) => e.account === null), []);
    assert.deepEqual((await provider.audit('provider', { limit: '1000' })).filter((e) => e.account === null), [], 'without subtree the provider sees its own account only');
  });

  it("without subtree the parent's query holds only its own events, and the child's query its own", async () => {
    await until(parentAdmin, child, {}, expected);
    const own = await parentAdmin.audit(parent, { limit: '1000' });
    assert.ok(own.length > 0, 'the parent has events of its own (its creation, its settings)');
    assert.deepEqual(own.filter((e) => e.account !== parent), []);
  });
});
