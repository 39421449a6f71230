// Trust sets of any size reach the broker in pages (cert-registry keeps each reply within NATS
// max_payload): the broker reads every page before deciding, so an anchor or a suspension on the last
// page counts like one on the first.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PASSWORD, connack, settingsOf, startFixture, type Fixture } from './broker.fixture.js';

describe('trust sets in pages', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
    fx.trustPageSize = 2;
    fx.accounts['acc-p'] = settingsOf(false, true);
    fx.credentials.set('dev-p', { accountId: 'acc-p', id: 'cred-p' });
    // Ids sort the anchor after four pinned leaves of other devices: it arrives on the third page.
    for (let i = 0; i < 4; i++) fx.register(`a-leaf-${i}`, await fx.pki.device(`other-${i}`), 'VALID', 'acc-p');
    fx.register('z-root', fx.pki.root, 'VALID', 'acc-p');
  });
  after(async () => {
    await fx?.stop();
  });

  it('admits a device whose anchor is on the last page, after reading every page', async () => {
    const before = fx.trustSetRequests;
    const a = await fx.attempt({ clientId: `p-${randomUUID()}`, device: await fx.pki.device('dev-p'), username: 'dev-p', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      assert.equal(fx.trustSetRequests - before, 3, 'pages requested');
    } finally {
      await fx.end(a);
    }
  });

  it('asks again for a page a busy cert-registry sheds, where it stopped (not the whole set from its first page)', async () => {
    // An account of its own (a trust set not cached yet), laid out as acc-p: three pages.
    fx.accounts['acc-shed'] = settingsOf(false, true);
    fx.credentials.set('dev-shed', { accountId: 'acc-shed', id: 'cred-shed' });
    for (let i = 0; i < 4; i++) fx.register(`b-leaf-${i}`, await fx.pki.device(`other-b-${i}`), 'VALID', 'acc-shed');
    fx.register('zb-root', fx.pki.root, 'VALID', 'acc-shed');
    // The second page (after the second leaf) is shed twice, then answered.
    fx.shedTrustPagesAfter.set('b-leaf-1', 2);
    const before = fx.trustSetRequests;
    const a = await fx.attempt({ clientId: `p-${randomUUID()}`, device: await fx.pki.device('dev-shed'), username: 'dev-shed', password: PASSWORD });
    try {
      assert.deepEqual({ ...a.connack }, connack(0));
      assert.equal(fx.shedTrustPagesAfter.get('b-leaf-1'), 0, 'both sheds happened');
      assert.equal(fx.trustSetRequests - before, 3 + 2, 'three pages, the second asked three times');
    } finally {
      fx.shedTrustPagesAfter.clear();
      await fx.end(a);
    }
  });

  it('refuses when the suspension is on the last page', async () => {
    fx.register('zz-inter', fx.pki.intermediate, 'SUSPENDED', 'acc-p');
    await fx.setCertStatus('zz-inter', 'SUSPENDED');
    const clientId = `p-${randomUUID()}`;
    const a = await fx.attempt({ clientId, device: await fx.pki.device('dev-p'), username: 'dev-p', password: PASSWORD });
    try {
      assert.equal(a.connack?.returnCode, 5);
      const ev = await fx.auditFor(clientId, 'connect.rejected');
      assert.equal(ev.reason, 'CERT_SUSPENDED');
    } finally {
      await fx.end(a);
    }
  });
});
