// Token checks through an outage of account-settings or NATS, against a real nats-server: a token
// verified before is honoured within the grace, an unseen one is refused, and NATS coming back
// forgets everything so a token revoked meanwhile cannot live on.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NatsServer, waitFor } from '@twoway/testing';
import { Bus } from '@twoway/nats';
import { RequestSubjects, type Principal } from '@twoway/contracts';
import { NatsResolver } from './auth.js';
import { ApiError } from './errors.js';

const silent = { warn() {}, error() {}, info() {} };
const principal = (token: string): Principal => ({ tokenId: `id-${token}`, name: token, accountId: 'acc-1', role: 'admin', provider: false });

/** account-settings' side: answers token checks for the tokens in `valid`, on its own connection. */
async function owner(url: string, valid: Set<string>, expiresAt: Record<string, string> = {}) {
  const bus = await Bus.connect({ servers: url, name: 'owner', log: silent });
  const sub = bus.nc.subscribe(RequestSubjects.TokenVerify);
  void (async () => {
    for await (const m of sub) {
      const { token } = JSON.parse(new TextDecoder().decode(m.data)) as { token: string };
      m.respond(new TextEncoder().encode(JSON.stringify(valid.has(token) ? { principal: { ...principal(token), ...(expiresAt[token] ? { expiresAt: expiresAt[token] } : {}) } } : { error: { code: 'UNAUTHENTICATED', message: 'no such token' } })));
    }
  })();
  await bus.nc.flush();
  return bus;
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof ApiError ? e.code : String(e)),
  );

describe('NatsResolver through an outage', () => {
  let nats: NatsServer;
  let first: NatsServer | undefined; // owns the store dir; a server restarted on it does not
  before(async () => {
    nats = first = await NatsServer.start();
  });
  after(async () => {
    await nats?.stop();
    await first?.stop();
  });

  it('account-settings away: a token verified before is honoured within the grace, an unseen one answers UNAVAILABLE', async (t) => {
    const valid = new Set(['t1', 't2']);
    const own = await owner(nats.url, valid);
    t.after(() => own.stop());
    const bus = await Bus.connect({ servers: nats.url, name: 'svc', requestTimeoutMs: 500, log: silent });
    t.after(() => bus.stop());
    const withGrace = new NatsResolver(bus, { ttlMs: 0, outageGraceMs: 60_000 });
    const noGrace = new NatsResolver(bus, { ttlMs: 0, outageGraceMs: 0 });
    assert.deepEqual(await withGrace.principal('t1'), principal('t1'));
    assert.deepEqual(await noGrace.principal('t1'), principal('t1'));

    await own.stop(); // nobody answers token checks now
    assert.deepEqual(await withGrace.principal('t1'), principal('t1'));
    assert.equal(await code(withGrace.principal('t2')), 'UNAVAILABLE', 'never verified: fail closed');
    assert.equal(await code(noGrace.principal('t1')), 'UNAVAILABLE', 'grace 0: fail closed');
  });

  it('a token verified just before it expires is refused TOKEN_EXPIRED from the cache and the grace once it has', async (t) => {
    const expiry = new Date(Date.now() + 400).toISOString();
    const own = await owner(nats.url, new Set(['soon']), { soon: expiry });
    t.after(() => own.stop());
    const bus = await Bus.connect({ servers: nats.url, name: 'svc', requestTimeoutMs: 500, log: silent });
    t.after(() => bus.stop());
    // Cached for a minute, and honoured through an outage for a minute: longer than the token lives.
    const r = new NatsResolver(bus, { ttlMs: 60_000, outageGraceMs: 60_000 });
    assert.equal((await r.principal('soon')).expiresAt, expiry);
    await own.stop(); // from here on only the cache (and then the grace) can answer
    // The clock passing the expiry is the behaviour under test.
    await waitFor(() => Date.now() > Date.parse(expiry), { timeoutMs: 5_000, what: 'the token to expire' });
    assert.equal(await code(r.principal('soon')), 'TOKEN_EXPIRED', 'not served from the cache');
    assert.equal(await code(r.principal('soon')), 'UNAVAILABLE', 'forgotten: not served from the grace either');
  });

  it('a refused token is forgotten at once, even within the grace', async (t) => {
    const valid = new Set(['t1']);
    const own = await owner(nats.url, valid);
    t.after(() => own.stop());
    const bus = await Bus.connect({ servers: nats.url, name: 'svc', requestTimeoutMs: 500, log: silent });
    t.after(() => bus.stop());
    const r = new NatsResolver(bus, { ttlMs: 0, outageGraceMs: 60_000 });
    await r.principal('t1');
    valid.delete('t1');
    assert.equal(await code(r.principal('t1')), 'UNAUTHENTICATED');
    await own.stop();
    assert.equal(await code(r.principal('t1')), 'UNAVAILABLE', 'not served from the grace after the owner refused it');
  });

  it('NATS away: served from the grace without waiting; NATS back: every cached token is forgotten', async (t) => {
    const own = await owner(nats.url, new Set(['t1']));
    const bus = await Bus.connect({ servers: nats.url, name: 'svc', requestTimeoutMs: 2_000, log: silent });
    t.after(() => bus.stop());
    const r = new NatsResolver(bus, { ttlMs: 0, outageGraceMs: 60_000 });
    await r.principal('t1');
    await own.stop();

    await nats.proc.stop();
    await waitFor(() => !bus.connected, { what: 'the bus to see NATS gone' });
    const started = Date.now();
    assert.deepEqual(await r.principal('t1'), principal('t1'));
    assert.ok(Date.now() - started < 1_000, `answered after ${Date.now() - started} ms: it waited for a request timeout`);

    // Back, but account-settings is not (yet): whatever it revoked meanwhile, nothing cached is trusted.
    nats = await NatsServer.start({ port: nats.port, storeDir: nats.storeDir });
    await waitFor(() => bus.connected, { timeoutMs: 15_000, what: 'the bus to reconnect' });
    await waitFor(async () => (await code(r.principal('t1'))) === 'UNAVAILABLE', { timeoutMs: 5_000, what: 'the cache forgotten on reconnect' });
  });
});
