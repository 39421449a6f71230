// Two broker replicas on one NATS, wired as main.ts wires them: a message crosses replicas, and one
// suspension ends the affected sessions on every replica and refuses new connects on each.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ChangeSubjects } from '@twoway/contracts';
import { waitFor } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { PASSWORD, PROVIDER, connack, settingsOf, startFixture, type Fixture } from './broker.fixture.js';
import { natsCluster, type RunningBroker } from './service.js';

describe('broker replicas', () => {
  let fx: Fixture;
  let b2: RunningBroker;
  let device: Issued;

  before(async () => {
    fx = await startFixture({}, { cluster: natsCluster });
    b2 = await fx.startReplica('broker-2');
    fx.accounts['acc-r'] = settingsOf(false, true);
    fx.credentials.set('dev-r', { accountId: 'acc-r', id: 'cred-r' });
    fx.register('root', fx.pki.root, 'VALID');
    fx.register('inter', fx.pki.intermediate, 'VALID');
    device = await fx.pki.device('dev-r');
  });
  after(async () => {
    await fx?.stop();
  });

  it('a message published on one replica reaches a subscriber of the same account on the other', async () => {
    const sub = await fx.attempt({ clientId: `s-${randomUUID()}`, device, username: 'dev-r', password: PASSWORD });
    const pub = await fx.attemptOn(b2, { clientId: `p-${randomUUID()}`, device, username: 'dev-r', password: PASSWORD });
    try {
      const got: string[] = [];
      sub.client.on('message', (t, p) => got.push(`${t}:${p.toString()}`));
      await sub.client.subscribeAsync('fleet/+', { qos: 1 });
      await waitFor(async () => {
        await pub.client.publishAsync('fleet/1', 'across', { qos: 1 });
        return got.length > 0;
      }, { what: 'cross-replica delivery', everyMs: 200 });
      assert.equal(got[0], 'fleet/1:across');
    } finally {
      await Promise.all([fx.end(sub), fx.end(pub)]);
    }
  });

  it('suspending the intermediate ends sessions on both replicas and refuses new connects on each', async () => {
    const on1 = await fx.attempt({ clientId: `r1-${randomUUID()}`, device, username: 'dev-r', password: PASSWORD });
    const on2 = await fx.attemptOn(b2, { clientId: `r2-${randomUUID()}`, device, username: 'dev-r', password: PASSWORD });
    const inter = fx.registry.find((e) => e.id === 'inter')!;
    try {
      assert.deepEqual({ ...on1.connack }, connack(0));
      assert.deepEqual({ ...on2.connack }, connack(0));
      const closed = Promise.all([on1, on2].map((a) => new Promise<void>((r) => a.client.once('close', () => r()))));
      inter.status = 'SUSPENDED';
      await fx.publishChange(ChangeSubjects.CertStatusChanged, 'cert.status_changed', PROVIDER, {
        certificateId: 'inter', fingerprint: fx.pki.intermediate.cert.fingerprint, before: 'VALID', after: 'SUSPENDED',
      });
      await closed;
      const ended = await waitFor(() => {
        const e = fx.audit.filter((ev) => ev.type === 'session.ended' && ev.device?.certificateFingerprint === device.cert.fingerprint);
        return e.length === 2 ? e : undefined;
      }, { what: 'two session.ended events' });
      assert.deepEqual(ended.map((e) => e.source).sort(), ['broker-2', 'broker-test']);
      for (const b of [fx.broker, b2]) {
        const a = await fx.attemptOn(b, { clientId: `again-${randomUUID()}`, device, username: 'dev-r', password: PASSWORD });
        await fx.end(a);
        assert.deepEqual({ ...a.connack }, connack(5));
      }
    } finally {
      inter.status = 'VALID';
      await Promise.all([fx.end(on1), fx.end(on2)]);
    }
  });
});
