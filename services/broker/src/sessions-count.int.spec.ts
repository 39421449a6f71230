// `twoway.v1.sessions.count` against two real broker replicas on one NATS: every replica answers with
// the sessions a status change of a registration would end, per account, and only in the account it
// was registered in and below — never another tenant's sessions that happen to share the CA.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RequestSubjects, SessionsCountReply } from '@twoway/contracts';
import type { Issued } from '@twoway/pki';
import { PASSWORD, PROVIDER, connack, settingsOf, startFixture, type Attempt, type Fixture } from './broker.fixture.js';
import { countByAccount } from './nats/sessions-count.js';
import type { RunningBroker } from './service.js';

const gather = (fx: Fixture, fingerprint: string, accountId: string) =>
  fx.bus.gather(RequestSubjects.SessionsCount, { fingerprint, accountId }, SessionsCountReply, { maxWaitMs: 2000, stallMs: 300 });

describe('sessions count (scatter-gather over broker replicas)', () => {
  let fx: Fixture;
  let b2: RunningBroker;
  let device: Issued;
  const live: Attempt[] = [];

  before(async () => {
    fx = await startFixture();
    b2 = await fx.startReplica('broker-2');
    fx.accounts['acc-a'] = settingsOf(false, true);
    fx.accounts['acc-b'] = settingsOf(false, true);
    // A replica that does not hold a counted registration reads its account's trust set (for the sessions
    // through another copy of its CA): the fake account-settings answers for the provider too.
    fx.accounts[PROVIDER] = settingsOf(false, true);
    fx.credentials.set('dev-a', { accountId: 'acc-a', id: 'cred-a' });
    fx.credentials.set('dev-b', { accountId: 'acc-b', id: 'cred-b' });
    // The root covers both accounts from the provider; acc-b registered its own copy of the intermediate.
    fx.register('root', fx.pki.root, 'VALID');
    fx.register('inter-b', fx.pki.intermediate, 'VALID', 'acc-b');
    device = await fx.pki.device('dev-x');
    const connect = async (b: RunningBroker, username: string) => {
      const a = await fx.attemptOn(b, { clientId: `${username}-${randomUUID()}`, device, username, password: PASSWORD });
      live.push(a);
      assert.deepEqual({ ...a.connack }, connack(0));
    };
    await connect(fx.broker, 'dev-a');
    await connect(fx.broker, 'dev-a');
    await connect(b2, 'dev-a');
    await connect(b2, 'dev-b');
  });
  after(async () => {
    await Promise.all(live.map((a) => fx.end(a)));
    await fx?.stop();
  });

  it('every replica answers; the sum is every session below the account whose path holds the fingerprint', async () => {
    const { replies, failed } = await gather(fx, fx.pki.intermediate.cert.fingerprint, PROVIDER);
    assert.equal(failed, 0);
    assert.deepEqual(replies.map((r) => r.replica).sort(), ['broker-2', 'broker-test']);
    const byReplica = Object.fromEntries(replies.map((r) => [r.replica, r]));
    assert.deepEqual(byReplica['broker-test'], { replica: 'broker-test', sessions: 2, accounts: [{ accountId: 'acc-a', sessions: 2 }], accountsTruncated: false, couldFallBack: 0 });
    assert.deepEqual(byReplica['broker-2'], { replica: 'broker-2', sessions: 2, accounts: [{ accountId: 'acc-a', sessions: 1 }, { accountId: 'acc-b', sessions: 1 }], accountsTruncated: false, couldFallBack: 0 });
  });

  it('counts only the sessions of the account and below: another tenant sharing the CA is not in it', async () => {
    const { replies } = await gather(fx, fx.pki.intermediate.cert.fingerprint, 'acc-b');
    assert.equal(replies.reduce((n, r) => n + r.sessions, 0), 1);
    assert.deepEqual(replies.flatMap((r) => r.accounts), [{ accountId: 'acc-b', sessions: 1 }]);
    const a = await gather(fx, fx.pki.intermediate.cert.fingerprint.toUpperCase().match(/.{2}/g)!.join(':'), 'acc-a');
    assert.equal(a.replies.reduce((n, r) => n + r.sessions, 0), 3, 'fingerprints with colons and capitals are the same fingerprint');
  });

  it('counts the devices that could come back on their password alone: credential not requiring a certificate, plain TLS on', async () => {
    fx.accounts['acc-c'] = settingsOf(true, true);
    fx.accounts['acc-d'] = settingsOf(false, true);
    fx.credentials.set('dev-c-open', { accountId: 'acc-c', id: 'cred-c-open', requireCertificate: false });
    fx.credentials.set('dev-c-req', { accountId: 'acc-c', id: 'cred-c-req', requireCertificate: true });
    fx.credentials.set('dev-d-open', { accountId: 'acc-d', id: 'cred-d-open', requireCertificate: false });
    // Its own leaf: only these three sessions hold it.
    const devC = await fx.pki.device('dev-c');
    const connect = async (b: RunningBroker, username: string) => {
      const a = await fx.attemptOn(b, { clientId: `${username}-${randomUUID()}`, device: devC, username, password: PASSWORD });
      live.push(a);
      assert.deepEqual({ ...a.connack }, connack(0));
    };
    await connect(fx.broker, 'dev-c-open'); // plain TLS on, no requirement: could fall back
    await connect(b2, 'dev-c-req'); // requires a certificate
    await connect(b2, 'dev-d-open'); // its account has plain TLS off
    const { replies } = await gather(fx, devC.cert.fingerprint, PROVIDER);
    const byReplica = Object.fromEntries(replies.map((r) => [r.replica, [r.sessions, r.couldFallBack]]));
    assert.deepEqual(byReplica, { 'broker-test': [1, 1], 'broker-2': [2, 0] });
  });

  it('a fingerprint on no live path counts zero on every replica', async () => {
    const { replies } = await gather(fx, 'ab'.repeat(32), PROVIDER);
    assert.equal(replies.length, 2);
    assert.ok(replies.every((r) => r.sessions === 0 && r.accounts.length === 0));
  });
});

describe('countByAccount', () => {
  it('lists accounts most sessions first, ties by id, and says when it cut the list', () => {
    const s = (accountId: string) => ({ accountId });
    assert.deepEqual(countByAccount([s('b'), s('a'), { ...s('c'), couldFallBack: true }, s('c')], 'r1', 2), {
      replica: 'r1', sessions: 4, accounts: [{ accountId: 'c', sessions: 2 }, { accountId: 'a', sessions: 1 }], accountsTruncated: true, couldFallBack: 1,
    });
    assert.deepEqual(countByAccount([], 'r1'), { replica: 'r1', sessions: 0, accounts: [], accountsTruncated: false, couldFallBack: 0 });
  });
});
