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
