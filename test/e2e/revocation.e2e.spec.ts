// Certificate lifecycle with real clients across the whole system: a status change ends live
// sessions whose chain contains the certificate and refuses new connects; restoring admits again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { System, makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import { createRootCa, issueIntermediateCa, issueDeviceCert, type Issued } from '@twoway/pki';
import { tryConnect, type ConnectResult } from './support/mqtt.js';
import { Operator } from './support/operator.js';

describe('certificate lifecycle reaches live sessions', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let pki: TestPki;
  let ca: string;
  const password = 'lifecycle-password-1';
  let seq = 0;

  before(async () => {
    sys = await System.start();
    op = new Operator(sys);
    ca = await readFile(sys.caFile, 'utf8');
    pki = await makeTestPki({ fresh: true });
  });
  after(async () => {
    await sys?.stop();
  });

  const connectAs = (dev: Issued, username: string, clientId = `c-${++seq}`) =>
    tryConnect(sys.mqttPort, { ca, cert: dev.chainPem, key: dev.keyPem }, { clientId, username, password });
  // The PATCH answers once the change is published, but a broker applies it a moment later: a
  // connect racing that moment may still be decided on the suspended status. Restoring is bounded,
  // not instantaneous; 2 s is far above the measured propagation (docs/benchmarks.md). Nothing outside
  // the broker says it applied the change, so the connects themselves are the condition polled; each
  // one refused meanwhile must be the status refusal (CONNACK 5), not another failure.
  const admittedSoon = async (connect: () => Promise<ConnectResult>) => {
    let last: ConnectResult | undefined;
    const until = Date.now() + 2_000;
    do {
      last = await connect();
      if (last.connected) return last;
      assert.equal(last.returnCode, 5, last.error);
      await new Promise((r) => setTimeout(r, 25));
    } while (Date.now() < until);
    assert.fail(`not admitted within 2 s of the restore: ${last.error}`);
  };
  /** The audit trail's answer to a refused connect: its connect.rejected event. */
  const rejection = (accountId: string, clientId: string) =>
    waitFor(async () => (await op.audit(accountId, { type: 'connect.rejected', clientId })).at(0), { what: `connect.rejected audit event of ${clientId}` });
  const closed = (c: MqttClient) => new Promise<void>((resolve) => (c.disconnected ? resolve() : c.once('close', () => resolve())));

  it('valid → suspended → valid: the root suspended ends the session and refuses; restored admits', async () => {
    const acc = await op.account('lc-suspend');
    await op.credential(acc, 'lc-suspend-dev', password);
    const root = await op.register(acc, 'root', pki.root.certPem);
    const dev = await pki.device('lc-suspend-dev');
    const first = await connectAs(dev, 'lc-suspend-dev', 'lc-suspend-1');
    assert.equal(first.connected, true, first.error);
    const gone = closed(first.client!);
    await op.setStatus(acc, root.id, 'SUSPENDED');
    await gone;
    const again = await connectAs(dev, 'lc-suspend-dev', 'lc-suspend-2');
    assert.equal(again.connected, false);
    assert.equal(again.returnCode, 5);
    const ended = await waitFor(async () => (await op.audit(acc, { type: 'session.ended' })).find((e) => e.device?.clientId === 'lc-suspend-1'), { what: 'session.ended audit event' });
    assert.equal(ended.reason, 'SESSION_CERT_STATUS_CHANGED');
    assert.equal((await rejection(acc, 'lc-suspend-2')).reason, 'ANCHOR_SUSPENDED');
    await op.setStatus(acc, root.id, 'VALID');
    const back = await admittedSoon(() => connectAs(dev, 'lc-suspend-dev'));
    await back.client!.endAsync();
  });

  it('valid → revoked → valid: a revoked intermediate ends its devices\' sessions; restored admits', async () => {
    const acc = await op.account('lc-revoke');
    await op.credential(acc, 'lc-revoke-dev', password);
    await op.register(acc, 'root', pki.root.certPem);
    const inter = await op.register(acc, 'intermediate', pki.intermediate.certPem);
    const dev = await pki.device('lc-revoke-dev');
    const s = await connectAs(dev, 'lc-revoke-dev');
    assert.equal(s.connected, true, s.error);
    const gone = closed(s.client!);
    await op.setStatus(acc, inter.id, 'REVOKED');
    await gone;
    const again = await connectAs(dev, 'lc-revoke-dev', 'lc-revoke-2');
    assert.equal(again.connected, false);
    assert.equal(again.returnCode, 5);
    // The registered root is still VALID: the path device → intermediate → root is found and refused
    // for the revoked intermediate in its middle (the anchor itself would be ANCHOR_REVOKED).
    assert.equal((await rejection(acc, 'lc-revoke-2')).reason, 'CERT_REVOKED');
    await op.setStatus(acc, inter.id, 'VALID');
    const back = await admittedSoon(() => connectAs(dev, 'lc-revoke-dev'));
    await back.client!.endAsync();
  });

  // The first-run story: the sub-account had plain TLS on too, so after ANCHOR_SUSPENDED the device
  // reconnected without its certificate and was accepted by fallback. Suspending must shut it out.
  it('a suspended CA shuts out its devices even when they come back without a certificate (no fallback)', async () => {
    const acc = await op.account('lc-nofallback', { tls: true, mtls: true });
    // Neither requires a certificate: this is the fallback the chain they last connected with must close.
    const cred = await op.credential(acc, 'sensor-17', password, { requireCertificate: false });
    await op.credential(acc, 'sensor-18', password, { requireCertificate: false });
    const root = await op.register(acc, 'Plant CA', pki.root.certPem);
    const dev = await pki.device('sensor-17');
    const bare = (username: string, clientId: string) => tryConnect(sys.mqttPort, { ca }, { clientId, username, password });

    const withCert = await connectAs(dev, 'sensor-17', 'sensor-17');
    assert.equal(withCert.connected, true, withCert.error);
    // The chain it verified with is remembered for its credential (and shown with the credential).
    const recorded = await waitFor(async () => {
      const r = await sys.api<{ items: { id: string; lastChain?: { path: string[] } | null }[] }>('GET', `/api/v1/accounts/${acc}/credentials`);
      return r.body.items.find((c) => c.id === cred.id && c.lastChain)?.lastChain;
    }, { what: 'the credential\'s recorded chain' });
    assert.equal(recorded.path.at(-1), root.fingerprint);
    await withCert.client!.endAsync();

    // While the CA is VALID the documented fallback holds: the same device without its certificate is in.
    const fallback = await bare('sensor-17', 'sensor-17');
    assert.equal(fallback.connected, true, fallback.error);
    const other = await bare('sensor-18', 'sensor-18'); // never connected with a certificate
    assert.equal(other.connected, true, other.error);

    const gone = closed(fallback.client!);
    await op.setStatus(acc, root.id, 'SUSPENDED');
    await gone; // its fallback session carried the remembered chain, so the suspension ended it too
    assert.equal(other.client!.connected, true, 'a credential never seen with the CA keeps its fallback session');

    const again = await bare('sensor-17', 'sensor-17');
    assert.equal(again.connected, false, 'a device of the suspended CA must not get in by leaving its certificate out');
    assert.equal(again.returnCode, 5);
    const refused = await waitFor(async () => (await op.audit(acc, { type: 'connect.rejected', username: 'sensor-17' })).find((e) => (e.detail as { certificate?: string })?.certificate === 'none'), { what: 'refused fallback audit event' });
    assert.equal(refused.reason, 'ANCHOR_SUSPENDED');
    assert.equal((refused.detail as { fallbackRefused?: boolean }).fallbackRefused, true);
    assert.equal((refused.detail as { blockedFingerprint?: string }).blockedFingerprint, root.fingerprint);
    const withCertAgain = await connectAs(dev, 'sensor-17', 'sensor-17-cert');
    assert.equal(withCertAgain.connected, false);
    assert.equal(withCertAgain.returnCode, 5);
    // Refused for the chain it presented, not as a refused fallback.
    const withCertRefused = await rejection(acc, 'sensor-17-cert');
    assert.equal(withCertRefused.reason, 'ANCHOR_SUSPENDED');
    assert.equal(withCertRefused.device?.certificateFingerprint, dev.cert.fingerprint);
    const withCertDetail = withCertRefused.detail as { blockedFingerprint?: string; fallbackRefused?: boolean };
    assert.deepEqual([withCertDetail.blockedFingerprint, withCertDetail.fallbackRefused], [root.fingerprint, undefined]);

    const stillFallsBack = await bare('sensor-18', 'sensor-18-b');
    assert.equal(stillFallsBack.connected, true, stillFallsBack.error);
    await stillFallsBack.client!.endAsync();
    await other.client!.endAsync();

    // Restored: the device is back, with or without its certificate.
    await op.setStatus(acc, root.id, 'VALID');
    const back = await admittedSoon(() => bare('sensor-17', 'sensor-17'));
    await back.client!.endAsync();
  });

  it('suspending an intermediate drops every device below it and only those', async () => {
    const acc = await op.account('lc-batch');
    const batchA = await issueIntermediateCa({ issuer: pki.root, commonName: 'batch A' });
    const batchB = await issueIntermediateCa({ issuer: pki.root, commonName: 'batch B' });
    await op.register(acc, 'root', pki.root.certPem);
    const regA = await op.register(acc, 'batch A', batchA.certPem);
    const devs = await Promise.all(['a1', 'a2', 'b1'].map(async (n) => {
      await op.credential(acc, `lc-batch-${n}`, password);
      return issueDeviceCert({ issuer: n.startsWith('a') ? batchA : batchB, commonName: `lc-batch-${n}` });
    }));
    const sessions = await Promise.all(devs.map((d, i) => connectAs(d, `lc-batch-${['a1', 'a2', 'b1'][i]}`)));
    for (const s of sessions) assert.equal(s.connected, true, s.error);
    const goneA = Promise.all([closed(sessions[0]!.client!), closed(sessions[1]!.client!)]);
    await op.setStatus(acc, regA.id, 'SUSPENDED');
    await goneA;
    // the batch-B device is unaffected: still connected and able to publish
    assert.equal(sessions[2]!.client!.connected, true);
    await sessions[2]!.client!.publishAsync('still/here', 'yes', { qos: 1 });
    await sessions[2]!.client!.endAsync();
  });

  it('an anchor registered in the parent account admits a device of a child account', async () => {
    const parent = await op.account('lc-parent');
    await op.register(parent, 'fleet root', pki.root.certPem);
    const child = await op.account('lc-child', { parentId: parent });
    await op.credential(child, 'lc-child-dev', password);
    const dev = await pki.device('lc-child-dev');
    const s = await connectAs(dev, 'lc-child-dev');
    assert.equal(s.connected, true, s.error);
    await s.client!.endAsync();
    // and not the other way round: an anchor of a child does not reach its parent. The child's root
    // has names of its own (one named like the parent's root would be refused as SIGNATURE_INVALID).
    const childRoot = await createRootCa({ commonName: 'lc child-only root' });
    await op.register(child, 'child-only root', childRoot.certPem);
    await op.credential(parent, 'lc-parent-dev', password);
    const pdev = await issueDeviceCert({ issuer: childRoot, commonName: 'lc-parent-dev' });
    const p = await connectAs(pdev, 'lc-parent-dev', 'lc-parent-dev');
    assert.equal(p.connected, false);
    assert.equal(p.returnCode, 5);
    assert.equal((await rejection(parent, 'lc-parent-dev')).reason, 'CHAIN_UNTRUSTED');
  });

  it('a pinned leaf admits exactly that device', async () => {
    const acc = await op.account('lc-pinned');
    await op.credential(acc, 'lc-pinned-dev', password);
    await op.credential(acc, 'lc-pinned-other', password);
    const dev = await pki.device('lc-pinned-dev');
    const sibling = await pki.device('lc-pinned-other');
    const pin = await op.register(acc, 'one device', dev.certPem);
    assert.equal(pin.kind, 'leaf');
    const ok = await connectAs(dev, 'lc-pinned-dev');
    assert.equal(ok.connected, true, ok.error);
    await ok.client!.endAsync();
    const no = await connectAs(sibling, 'lc-pinned-other', 'lc-pinned-other');
    assert.equal(no.connected, false);
    assert.equal(no.returnCode, 5);
    // Its chain reaches no registered anchor: the pinned leaf is not its issuer.
    assert.equal((await rejection(acc, 'lc-pinned-other')).reason, 'CHAIN_UNTRUSTED');
  });
});
