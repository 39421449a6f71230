// The operators' story, with the whole system, two broker replicas and real MQTT clients: an account has
// mutual TLS and plain TLS on, an operator suspends a CA, its device is refused ANCHOR_SUSPENDED — and
// comes back without its certificate. A credential that requires a verified certificate stays out
// (CREDENTIAL_REQUIRES_CERTIFICATE); one that does not gets in by the documented fallback. The
// suspend preview says so beforehand, and switching the requirement on ends the password-only sessions
// on every replica at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import type { CertificateSessions, Credential } from '@twoway/contracts';
import { System, makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import { issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { tryConnect, type ConnectResult } from './support/mqtt.js';
import { Operator, type AuditItem } from './support/operator.js';

describe('credentials that require a verified certificate', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let pki: TestPki;
  let ca: string;
  let replicaPort: number;
  const password = 'require-cert-password-1';
  const open: MqttClient[] = [];

  before(async () => {
    sys = await System.start();
    op = new Operator(sys);
    ca = await readFile(sys.caFile, 'utf8');
    pki = await makeTestPki({ fresh: true });
    replicaPort = (await sys.startBrokerReplica()).mqttPort;
  });
  after(async () => {
    await Promise.all(open.map((c) => c.endAsync(true).catch(() => undefined)));
    await sys?.stop();
  });

  const connect = async (port: number, username: string, clientId: string, dev?: Issued): Promise<ConnectResult> => {
    const r = await tryConnect(port, { ca, ...(dev ? { cert: dev.chainPem, key: dev.keyPem } : {}) }, { clientId, username, password });
    if (r.client) open.push(r.client);
    return r;
  };
  const closed = (c: MqttClient) => new Promise<void>((resolve) => (c.disconnected ? resolve() : c.once('close', () => resolve())));
  const event = (accountId: string, type: string, clientId: string) =>
    waitFor(async () => (await op.audit(accountId, { type, clientId })).at(0), { what: `${type} audit event of ${clientId}` });
  const refusedWith = async (accountId: string, r: ConnectResult, clientId: string): Promise<AuditItem> => {
    assert.equal(r.connected, false, `${clientId} must be refused`);
    assert.equal(r.returnCode, 5, `${clientId}: ${r.error}`);
    return event(accountId, 'connect.rejected', clientId);
  };

  it('a suspended CA: with the requirement the device cannot come back on its password; without it, the fallback lets it in; the preview counted it', async () => {
    const acc = await op.account('rc-story', { tls: true, mtls: true });
    // Two production batches, each its own anchor (the root is not registered): suspending batch A is
    // suspending the anchor its devices chain to.
    const batchA = await issueIntermediateCa({ issuer: pki.root, commonName: 'rc batch A' });
    const batchB = await issueIntermediateCa({ issuer: pki.root, commonName: 'rc batch B' });
    const regA = await op.register(acc, 'Batch A', batchA.certPem);
    await op.register(acc, 'Batch B', batchB.certPem);

    // Created while the account has mutual TLS on: required unless told otherwise.
    const locked = await op.credential(acc, 'rc-locked', password);
    const newLocked = await op.credential(acc, 'rc-new-locked', password);
    assert.deepEqual([locked.requireCertificate, newLocked.requireCertificate], [true, true]);
    const fleet = await op.credential(acc, 'rc-fleet', password, { requireCertificate: false });
    const newOpen = await op.credential(acc, 'rc-new-open', password, { requireCertificate: false });
    assert.deepEqual([fleet.requireCertificate, newOpen.requireCertificate], [false, false]);
    const dev = async (issuer: Issued, cn: string) => issueDeviceCert({ issuer, commonName: cn });
    const [devLocked, devNewLocked, devNewOpen, devFleetA, devFleetB] = await Promise.all([
      dev(batchA, 'rc-locked'), dev(batchA, 'rc-new-locked'), dev(batchA, 'rc-new-open'), dev(batchA, 'rc-fleet-a'), dev(batchB, 'rc-fleet-b'),
    ]);

    // Live before the suspension: one device of batch A on each replica, and a fleet credential shared
    // by a device of batch A and one of batch B (the B device connected last: its chain is the one the
    // credential remembers, so nothing but the requirement could keep the A device out).
    const lockedLive = await connect(sys.mqttPort, 'rc-locked', 'rc-locked', devLocked);
    const fleetA = await connect(replicaPort, 'rc-fleet', 'rc-fleet-a', devFleetA);
    assert.equal(lockedLive.connected, true, lockedLive.error);
    assert.equal(fleetA.connected, true, fleetA.error);
    await waitFor(async () => (await listCredential(acc, fleet.id)).lastChain?.path[0] === devFleetA.cert.fingerprint, { what: 'the fleet credential to remember the A chain' });
    const fleetB = await connect(sys.mqttPort, 'rc-fleet', 'rc-fleet-b', devFleetB);
    assert.equal(fleetB.connected, true, fleetB.error);
    await waitFor(async () => (await listCredential(acc, fleet.id)).lastChain?.path[0] === devFleetB.cert.fingerprint, { what: 'the fleet credential to remember the B chain' });

    // The preview: two sessions end, one on each replica; one of those devices could reconnect on its password.
    const preview = await sys.api<CertificateSessions>('GET', `/api/v1/accounts/${acc}/certificates/${regA.id}/sessions`);
    assert.equal(preview.status, 200);
    assert.deepEqual(
      { sessions: preview.body.sessions, replicas: preview.body.replicas, replicasWithSessions: preview.body.replicasWithSessions, couldFallBack: preview.body.couldFallBack },
      { sessions: 2, replicas: 2, replicasWithSessions: 2, couldFallBack: 1 },
    );

    const gone = Promise.all([closed(lockedLive.client!), closed(fleetA.client!)]);
    await op.setStatus(acc, regA.id, 'SUSPENDED');
    await gone;
    assert.equal(fleetB.client!.connected, true, 'the batch B device is not concerned');

    // The device whose credential requires a certificate: refused with its certificate, and without it.
    assert.equal((await refusedWith(acc, await connect(sys.mqttPort, 'rc-locked', 'rc-locked-cert', devLocked), 'rc-locked-cert')).reason, 'ANCHOR_SUSPENDED');
    const lockedBare = await refusedWith(acc, await connect(sys.mqttPort, 'rc-locked', 'rc-locked-bare'), 'rc-locked-bare');
    assert.deepEqual([lockedBare.reason, (lockedBare.detail as { chainReason?: string }).chainReason], ['CREDENTIAL_REQUIRES_CERTIFICATE', 'CHAIN_EMPTY']);
    // The same for a device that never connected before (nothing recorded for its credential), on the other replica.
    assert.equal((await refusedWith(acc, await connect(replicaPort, 'rc-new-locked', 'rc-new-locked-cert', devNewLocked), 'rc-new-locked-cert')).reason, 'ANCHOR_SUSPENDED');
    assert.equal((await refusedWith(acc, await connect(replicaPort, 'rc-new-locked', 'rc-new-locked-bare'), 'rc-new-locked-bare')).reason, 'CREDENTIAL_REQUIRES_CERTIFICATE');

    // Without the requirement: refused with the certificate, then in on the password alone (the documented fallback).
    assert.equal((await refusedWith(acc, await connect(sys.mqttPort, 'rc-new-open', 'rc-new-open-cert', devNewOpen), 'rc-new-open-cert')).reason, 'ANCHOR_SUSPENDED');
    const newOpenBare = await connect(sys.mqttPort, 'rc-new-open', 'rc-new-open-bare');
    assert.equal(newOpenBare.connected, true, newOpenBare.error);
    const admitted = await event(acc, 'connect.accepted_fallback', 'rc-new-open-bare');
    assert.equal(admitted.reason, 'CHAIN_EMPTY');
    // And the device the preview counted: back in on the shared credential's password.
    const fleetABare = await connect(replicaPort, 'rc-fleet', 'rc-fleet-a');
    assert.equal(fleetABare.connected, true, fleetABare.error);
    assert.equal((await event(acc, 'connect.accepted_fallback', 'rc-fleet-a')).reason, 'CHAIN_EMPTY');

    // The operator closes it: the fleet credential now requires a certificate. On every replica its
    // password-only session ends at once; its session on a verified certificate stays.
    const fleetAGone = closed(fleetABare.client!);
    const changed = await sys.api<Credential>('PATCH', `/api/v1/accounts/${acc}/credentials/${fleet.id}`, { requireCertificate: true });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.requireCertificate, true);
    await fleetAGone;
    const ended = await waitFor(async () => (await op.audit(acc, { type: 'session.ended', clientId: 'rc-fleet-a' })).find((e) => e.reason === 'SESSION_CREDENTIAL_CHANGED'), { what: 'the fallback session ended by the change' });
    assert.equal((ended.detail as { decision?: string }).decision, 'CREDENTIAL_REQUIRES_CERTIFICATE');
    // A later change on the other replica's sessions: once it took effect there, the requirement's change had too.
    const markerGone = closed(newOpenBare.client!);
    assert.equal((await sys.api('PATCH', `/api/v1/accounts/${acc}/credentials/${newOpen.id}`, { enabled: false })).status, 200);
    await markerGone;
    assert.equal(fleetB.client!.connected, true, 'a session on a verified certificate satisfies the requirement');
    await fleetB.client!.publishAsync('still/here', 'yes', { qos: 1 });
    assert.equal((await op.audit(acc, { type: 'session.ended', clientId: 'rc-fleet-b' })).length, 0);
    const fleetAgain = await connect(replicaPort, 'rc-fleet', 'rc-fleet-a-again');
    assert.equal((await refusedWith(acc, fleetAgain, 'rc-fleet-a-again')).reason, 'CREDENTIAL_REQUIRES_CERTIFICATE');
  });

  it('mutual TLS switched off later: a credential that requires a certificate is refused, one that does not still connects', async () => {
    const acc = await op.account('rc-later', { tls: true, mtls: true });
    await op.register(acc, 'root', pki.root.certPem);
    await op.credential(acc, 'rc-later-required', password);
    await op.credential(acc, 'rc-later-open', password, { requireCertificate: false });
    const dev = await pki.device('rc-later-required');
    const live = await connect(sys.mqttPort, 'rc-later-required', 'rc-later-required', dev);
    assert.equal(live.connected, true, live.error);
    const gone = closed(live.client!);
    await op.settings(acc, { mutualTls: { enabled: false } });
    await gone;
    const ended = await event(acc, 'session.ended', 'rc-later-required');
    assert.deepEqual([ended.reason, (ended.detail as { decision?: string }).decision], ['SESSION_SETTINGS_CHANGED', 'CREDENTIAL_REQUIRES_CERTIFICATE']);
    assert.equal((await refusedWith(acc, await connect(sys.mqttPort, 'rc-later-required', 'rc-later-required-2', dev), 'rc-later-required-2')).reason, 'CREDENTIAL_REQUIRES_CERTIFICATE');
    const plain = await connect(sys.mqttPort, 'rc-later-open', 'rc-later-open');
    assert.equal(plain.connected, true, plain.error);
    assert.equal((await event(acc, 'connect.accepted', 'rc-later-open')).reason, 'PLAIN_TLS');
  });

  it('another tenant cannot read or change the requirement of this account’s credential', async () => {
    const a = await op.account('rc-tenant-a', { tls: true, mtls: true });
    const b = await op.account('rc-tenant-b', { tls: true, mtls: true });
    const cred = await op.credential(a, 'rc-tenant-a-dev', password);
    const bAdmin = (await sys.api<{ token: string }>('POST', `/api/v1/accounts/${b}/tokens`, { name: 'b admin', role: 'admin' })).body.token;
    const viaB = await sys.api('PATCH', `/api/v1/accounts/${b}/credentials/${cred.id}`, { requireCertificate: false }, bAdmin);
    assert.deepEqual([viaB.status, (viaB.body as { error: { code: string } }).error.code], [404, 'CREDENTIAL_NOT_FOUND']);
    const direct = await sys.api('PATCH', `/api/v1/accounts/${a}/credentials/${cred.id}`, { requireCertificate: false }, bAdmin);
    assert.deepEqual([direct.status, (direct.body as { error: { code: string } }).error.code], [404, 'ACCOUNT_NOT_FOUND']);
    assert.equal((await listCredential(a, cred.id)).requireCertificate, true, 'unchanged');
  });

  async function listCredential(accountId: string, id: string): Promise<Credential> {
    const r = await sys.api<{ items: Credential[] }>('GET', `/api/v1/accounts/${accountId}/credentials?idPrefix=${id}`);
    const c = r.body.items.find((x) => x.id === id);
    assert.ok(c, `credential ${id} listed`);
    return c;
  }
});
