// CA estates as they really are, through the real broker over real TLS: a cross-signed intermediate,
// a renewed intermediate beside its expired predecessor, and a suspended CA with a renewed twin.
// Node hands the broker only the first issuer a device sent for each certificate (tls/peer-chain.ts),
// so two tests pin that limit and show the workaround: register every copy of the intermediate, and
// path building tries every registered candidate.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRootCa, issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { PASSWORD, connack, settingsOf, startFixture, type Fixture } from './broker.fixture.js';

const DAY_MS = 86_400_000;

describe('broker: CA estates (cross-signed, renewed and suspended copies of a CA)', () => {
  let fx: Fixture;
  const c: Record<string, Issued> = {};

  before(async () => {
    fx = await startFixture();
    c.rootA = await createRootCa({ commonName: 'estate root A' });
    c.rootB = await createRootCa({ commonName: 'estate root B' });
    c.icaA = await issueIntermediateCa({ issuer: c.rootA, commonName: 'estate ICA' });
    c.icaB = await issueIntermediateCa({ issuer: c.rootB, commonName: 'estate ICA', keyPem: c.icaA.keyPem });
    c.crossDevice = await issueDeviceCert({ issuer: c.icaA, commonName: 'dev-cross' });
    // An intermediate that expired yesterday and its renewal (same subject and key).
    c.old = await issueIntermediateCa({ issuer: c.rootA, commonName: 'estate renewed ICA', notBefore: new Date(Date.now() - 10 * DAY_MS), days: 9 });
    c.renewed = await issueIntermediateCa({ issuer: c.rootA, commonName: 'estate renewed ICA', keyPem: c.old.keyPem });
    c.renewDevice = await issueDeviceCert({ issuer: c.renewed, commonName: 'dev-renew' });
    // A suspended intermediate and its renewed twin that nobody registered.
    c.suspended = await issueIntermediateCa({ issuer: c.rootA, commonName: 'estate suspended ICA' });
    c.twin = await issueIntermediateCa({ issuer: c.rootA, commonName: 'estate suspended ICA', keyPem: c.suspended.keyPem });
    c.twinDevice = await issueDeviceCert({ issuer: c.suspended, commonName: 'dev-twin' });

    // One account per estate (anchors registered in the account itself), mutual TLS only.
    const estates: Record<string, [string, Issued, 'VALID' | 'SUSPENDED'][]> = {
      'acc-cross': [['cross-root-a', c.rootA, 'SUSPENDED'], ['cross-root-b', c.rootB, 'VALID']],
      'acc-cross-fixed': [['fixed-root-a', c.rootA, 'SUSPENDED'], ['fixed-root-b', c.rootB, 'VALID'], ['fixed-ica-b', c.icaB, 'VALID']],
      'acc-renew': [['renew-root', c.rootA, 'VALID']],
      'acc-renew-fixed': [['renew-fixed-root', c.rootA, 'VALID'], ['renew-fixed-ica', c.renewed, 'VALID']],
      'acc-twin': [['twin-root', c.rootA, 'VALID'], ['twin-suspended', c.suspended, 'SUSPENDED']],
      'acc-twin-both': [['both-root', c.rootA, 'VALID'], ['both-suspended', c.suspended, 'SUSPENDED'], ['both-twin', c.twin, 'VALID']],
    };
    for (const [account, regs] of Object.entries(estates)) {
      fx.accounts[account] = settingsOf(false, true);
      fx.credentials.set(account, { accountId: account, id: `cred-${account}` });
      for (const [id, cert, status] of regs) fx.register(id, cert, status, account);
    }
  });
  after(async () => {
    await fx?.stop();
  });

  /** Connect as `device` sending `sent` after its certificate, with the credential of `account`: the CONNACK and the audit reason. */
  async function connectAs(account: string, device: Issued, sent: Issued[]): Promise<{ returnCode: number | undefined; reason: string | undefined }> {
    const clientId = `c-${randomUUID()}`;
    const chainPem = device.certPem + sent.map((s) => s.certPem).join('');
    const a = await fx.attempt({ device: { ...device, chainPem }, clientId, username: account, password: PASSWORD });
    try {
      const ev = await fx.auditFor(clientId);
      return { returnCode: a.connack?.returnCode, reason: ev.reason };
    } finally {
      await fx.end(a);
    }
  }

  it('cross-signed intermediate, root A suspended, root B valid: the order the device sends decides (Node keeps the first issuer)', async () => {
    assert.deepEqual(await connectAs('acc-cross', c.crossDevice!, [c.icaB!, c.icaA!]), { returnCode: 0, reason: 'MUTUAL_TLS' });
    // Pinned limit: Node drops icaB when icaA comes first, so only the path through suspended root A is seen.
    assert.deepEqual(await connectAs('acc-cross', c.crossDevice!, [c.icaA!, c.icaB!]), { returnCode: 5, reason: 'ANCHOR_SUSPENDED' });
  });

  it('workaround: with the cross-signed copy registered, either order is admitted', async () => {
    for (const sent of [[c.icaA!, c.icaB!], [c.icaB!, c.icaA!], [c.icaA!]]) {
      assert.deepEqual(await connectAs('acc-cross-fixed', c.crossDevice!, sent), { returnCode: 0, reason: 'MUTUAL_TLS' });
    }
  });

  it('renewed intermediate beside its expired predecessor: admitted when the renewal comes first; the expired one first is refused (pinned)', async () => {
    assert.deepEqual(await connectAs('acc-renew', c.renewDevice!, [c.renewed!, c.old!]), { returnCode: 0, reason: 'MUTUAL_TLS' });
    assert.deepEqual(await connectAs('acc-renew', c.renewDevice!, [c.old!, c.renewed!]), { returnCode: 5, reason: 'CERT_EXPIRED' });
    assert.deepEqual(await connectAs('acc-renew-fixed', c.renewDevice!, [c.old!, c.renewed!]), { returnCode: 0, reason: 'MUTUAL_TLS' }, 'workaround: the renewal registered');
  });

  it('a suspended intermediate is not bypassed by its renewed twin: the suspended copy and the twin are both refused CERT_SUSPENDED', async () => {
    assert.deepEqual(await connectAs('acc-twin', c.twinDevice!, [c.suspended!]), { returnCode: 5, reason: 'CERT_SUSPENDED' });
    assert.deepEqual(await connectAs('acc-twin', c.twinDevice!, [c.twin!]), { returnCode: 5, reason: 'CERT_SUSPENDED' });
  });

  it('nor by a twin registered VALID beside it: ANCHOR_SUSPENDED', async () => {
    assert.deepEqual(await connectAs('acc-twin-both', c.twinDevice!, []), { returnCode: 5, reason: 'ANCHOR_SUSPENDED' });
    assert.deepEqual(await connectAs('acc-twin-both', c.twinDevice!, [c.twin!]), { returnCode: 5, reason: 'ANCHOR_SUSPENDED' });
  });
});
