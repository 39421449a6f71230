// "Why was sensor-17 refused?" against the real system: for each case the dry run
// (POST /api/v1/accounts/{id}/dry-run, answered by a broker replica over NATS) must give the reason a
// real MQTT connect of the same device gets in its audit event — admitted, CN binding, unknown anchor,
// expired certificate, suspended CA. Also: a dry run leaves no trace on the device (no session, no
// connect event, no lockout count), is audited without the password, bounds its input and its rate,
// and never finds another tenant's devices. The CLI's `twoway decide` answers the same.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRootCa, issueDeviceCert, type Issued } from '@twoway/pki';
import { System, makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import type { DryRunResult } from '@twoway/contracts';
import { tryConnect } from './support/mqtt.js';
import { Operator, type AuditItem } from './support/operator.js';

const bin = resolve(fileURLToPath(new URL('../../apps/cli/bin/twoway.mjs', import.meta.url)));
const PASSWORD = 'sensor-17-password';
const RATE = 12;

describe('dry run of the connect decision against the real system', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let pki: TestPki;
  let serverCa: string;
  let account: string;
  let root: { id: string };
  const devices: Record<string, Issued> = {};

  before(async () => {
    // A low username-wide lockout, so that a dry run counting failures would lock the device out.
    sys = await System.start({ env: { TWOWAY_CREDENTIAL_MAX_FAILURES_PER_USERNAME: '3', TWOWAY_DRY_RUNS_PER_MINUTE: String(RATE) } });
    op = new Operator(sys);
    serverCa = await readFile(sys.caFile, 'utf8');
    pki = await makeTestPki({ fresh: true });
    account = await op.account('dry-run fleet', { mtls: true, tls: false, identity: { bindCertificateTo: 'clientId' } });
    root = await op.register(account, 'Fleet root', pki.root.certPem);
    await op.credential(account, 'sensor-17', PASSWORD);
    for (const cn of ['dr-admit', 'dr-suspended', 'dr-no-password', 'dr-wrong-password', 'dr-only', 'dr-cli']) devices[cn] = await pki.device(cn);
    devices['dr-expired'] = await pki.device('dr-expired', { notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    devices['dr-stranger'] = await issueDeviceCert({ issuer: await createRootCa({ commonName: 'Stranger Devices Root' }), commonName: 'dr-stranger' });
  });
  after(async () => {
    await sys?.stop();
  });

  /** A token of the account's own: the per-token rate bound counts each test's dry runs apart. */
  const tokenOf = async (name: string, role = 'admin') => (await sys.api<{ token: string }>('POST', `/api/v1/accounts/${account}/tokens`, { name, role })).body.token;
  const dryRun = (body: Record<string, unknown>, token = sys.token, at = account) => sys.api<DryRunResult & { error?: { code: string; message: string } }>('POST', `/api/v1/accounts/${at}/dry-run`, body, token);
  const connectEvent = (clientId: string) =>
    waitFor(async () => (await op.audit(account, { type: 'connect.*', clientId })).at(0), { what: `the connect audit event of ${clientId}`, timeoutMs: 20_000 });

  /** The dry run and a real connect of the same device: the same decision and the same reason. */
  async function same(c: { cert: Issued; clientId: string; password?: string }): Promise<{ dry: DryRunResult; ev: AuditItem }> {
    const dry = await dryRun({ chain: c.cert.chainPem, clientId: c.clientId, username: 'sensor-17', password: c.password ?? PASSWORD });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    const real = await tryConnect(sys.mqttPort, { ca: serverCa, cert: c.cert.chainPem, key: c.cert.keyPem }, { clientId: c.clientId, username: 'sensor-17', password: c.password ?? PASSWORD });
    await real.client?.endAsync();
    const ev = await connectEvent(c.clientId);
    assert.equal(dry.body.reason, ev.reason, `${c.clientId}: the dry run says ${dry.body.reason}, the real connect's audit ${ev.reason}`);
    assert.equal(dry.body.decision === 'admit', real.connected, `${c.clientId}: decision ${dry.body.decision}, connected ${real.connected}`);
    if (!real.connected) assert.equal(dry.body.returnCode, real.returnCode);
    return { dry: dry.body, ev };
  }

  it('a registered device is admitted, as its real connect is (MUTUAL_TLS), with the path it took', async () => {
    const { dry } = await same({ cert: devices['dr-admit']!, clientId: 'dr-admit' });
    assert.equal(dry.decision, 'admit');
    assert.equal(dry.reason, 'MUTUAL_TLS');
    assert.equal(dry.mode, 'mutual');
    assert.equal(dry.account, account);
    assert.deepEqual(dry.password, { checked: true });
    assert.deepEqual(dry.credential, { found: true, key: 'username', username: 'sensor-17', accountId: account });
    assert.equal(dry.chain.status, 'trusted');
    assert.deepEqual(dry.chain.path.map((p) => [p.role, p.from, p.subject]), [
      ['leaf', 'presented', 'CN=dr-admit'],
      ['intermediate', 'presented', 'CN=twoway test intermediate'],
      ['anchor', 'registered', 'CN=twoway test root'],
    ]);
    assert.deepEqual(dry.chain.path[2]!.registrations, [{ id: root.id, accountId: account, fingerprint: dry.chain.path[2]!.fingerprint, status: 'VALID', name: 'Fleet root', inherited: false }]);
    assert.equal(dry.settings?.identity.bindCertificateTo, 'clientId');
    assert.equal(dry.settings?.fallback, 'off');
    assert.match(dry.explanation, /trusted client certificate/);
  });

  it('a certificate naming another device is refused CN_MISMATCH, as its real connect is', async () => {
    const { dry } = await same({ cert: devices['dr-admit']!, clientId: 'dr-other' });
    assert.equal(dry.reason, 'CN_MISMATCH');
    assert.match(dry.fix ?? '', /client id or username the certificate names/);
  });

  it('a certificate under an unregistered CA is refused CHAIN_UNTRUSTED, as its real connect is', async () => {
    const { dry } = await same({ cert: devices['dr-stranger']!, clientId: 'dr-stranger' });
    assert.equal(dry.reason, 'CHAIN_UNTRUSTED');
    assert.equal(dry.chain.status, 'untrusted');
    assert.deepEqual(dry.chain.presented.map((c) => c.registrations), [[]]);
  });

  it('an expired certificate is refused CERT_EXPIRED, as its real connect is, and the answer says which expired', async () => {
    const { dry } = await same({ cert: devices['dr-expired']!, clientId: 'dr-expired' });
    assert.equal(dry.reason, 'CERT_EXPIRED');
    assert.equal(dry.chain.presented[0]!.validity, 'expired');
    assert.match(dry.chain.detail ?? '', /expired at/);
  });

  it('without a password the decision assumes the right one and says what the password check needs', async () => {
    const r = await dryRun({ chain: devices['dr-no-password']!.chainPem, clientId: 'dr-no-password', username: 'sensor-17' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.decision, 'admit');
    assert.equal(r.body.password.checked, false);
    assert.match(r.body.password.note ?? '', /needs the current password of credential "sensor-17"/);
  });

  it('wrong passwords in dry runs count toward no lockout, open no session and write no connect event; the dry run is audited without the password', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await dryRun({ chain: devices['dr-wrong-password']!.chainPem, clientId: 'dr-wrong-password', username: 'sensor-17', password: `wrong-password-${i}` });
      assert.deepEqual([r.body.decision, r.body.reason, r.body.returnCode, r.body.password.checked], ['refuse', 'BAD_CREDENTIALS', 4, true]);
    }
    // the username-wide bound is 3 failures here: the device itself still gets in
    const real = await tryConnect(sys.mqttPort, { ca: serverCa, cert: devices['dr-admit']!.chainPem, key: devices['dr-admit']!.keyPem }, { clientId: 'dr-admit', username: 'sensor-17', password: PASSWORD });
    assert.equal(real.connected, true, real.error);
    await real.client!.endAsync();

    const secret = 'dr-only-secret-password';
    const r = await dryRun({ chain: devices['dr-only']!.chainPem, clientId: 'dr-only', username: 'sensor-17', password: secret });
    assert.equal(r.body.decision, 'refuse');
    assert.equal(JSON.stringify(r.body).includes(secret), false, 'the answer echoes no password');
    const ev = await waitFor(async () => (await op.audit(account, { type: 'dry_run.decided', clientId: 'dr-only' })).at(0), { what: 'the dry_run.decided event', timeoutMs: 20_000 });
    assert.deepEqual([ev.actor, ev.device?.username, ev.outcome, ev.reason], [{ kind: 'token', id: (ev.actor as { id: string }).id, name: (ev.actor as { name: string }).name, accountId: (ev.actor as { accountId: string }).accountId }, 'sensor-17', undefined, undefined]);
    assert.deepEqual(ev.detail, { decision: 'refuse', reason: 'BAD_CREDENTIALS', account, passwordGiven: true, passwordChecked: true, certificates: 2, replica: r.body.replica });
    assert.equal(JSON.stringify(ev).includes(secret), false, 'the audit event holds no password');
    // the connect events of the device are there for the real connects only: none for a client id only dry-run
    assert.deepEqual(await op.audit(account, { type: 'connect.*', clientId: 'dr-only' }), []);
    const sessions = await sys.api<{ sessions: number }>('GET', `/api/v1/accounts/${account}/certificates/${root.id}/sessions`);
    assert.equal(sessions.body.sessions, 0);
    // and no log line of any service holds the password
    const logs = join(sys.dataDir, 'logs');
    for (const f of await readdir(logs)) assert.equal((await readFile(join(logs, f), 'utf8')).includes(secret), false, `${f} holds the password`);
  });

  it('a suspended CA refuses ANCHOR_SUSPENDED, as the real connect of the same device is', async () => {
    await op.setStatus(account, root.id, 'SUSPENDED');
    try {
      const { dry } = await same({ cert: devices['dr-suspended']!, clientId: 'dr-suspended' });
      assert.equal(dry.reason, 'ANCHOR_SUSPENDED');
      assert.equal(dry.chain.status, 'blocked');
      assert.equal(dry.chain.blockedBy?.fingerprint, dry.chain.path.at(-1)!.fingerprint);
      assert.equal(dry.chain.path.at(-1)!.registrations[0]!.status, 'SUSPENDED');
      assert.match(dry.fix ?? '', /VALID again/);
    } finally {
      await op.setStatus(account, root.id, 'VALID');
    }
  });

  it('refuses hostile or oversized input with a clear error and stores nothing', async () => {
    const token = await tokenOf('hostile input');
    const dryRun = (body: Record<string, unknown>) => sys.api<{ error?: { code: string; message: string } }>('POST', `/api/v1/accounts/${account}/dry-run`, body, token);
    const key = await dryRun({ chain: `${devices['dr-admit']!.chainPem}${devices['dr-admit']!.keyPem}`, username: 'sensor-17' });
    assert.deepEqual([key.status, key.body.error?.code], [422, 'CERT_PRIVATE_KEY_REJECTED']);
    assert.equal(JSON.stringify(key.body).includes(devices['dr-admit']!.keyPem.split('\n')[1]!), false, 'the error echoes no key material');
    const damaged = await dryRun({ chain: '-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIU\n-----END CERTIFICATE-----\n' });
    assert.deepEqual([damaged.status, damaged.body.error?.code], [422, 'CERT_PEM_INVALID']);
    assert.match(damaged.body.error!.message, /block 1/);
    const garbage = await dryRun({ chain: 'hello' });
    assert.deepEqual([garbage.status, garbage.body.error?.code], [422, 'CERT_PEM_INVALID']);
    const many = await dryRun({ chain: devices['dr-admit']!.certPem.repeat(11) });
    assert.deepEqual([many.status, many.body.error?.code], [400, 'BAD_REQUEST']);
    assert.match(many.body.error!.message, /11 certificates; a dry run takes at most 10/);
    const huge = await dryRun({ chain: 'x'.repeat(70_000) });
    assert.deepEqual([huge.status, huge.body.error?.code], [400, 'VALIDATION_FAILED']);
    const control = await dryRun({ clientId: 'dr\u0000x' });
    assert.deepEqual([control.status, control.body.error?.code], [400, 'VALIDATION_FAILED']);
  });

  it("another tenant's token cannot dry-run this account, and its own dry runs never find this account's devices", async () => {
    const other = await op.account('dry-run other tenant');
    const token = (await sys.api<{ token: string }>('POST', `/api/v1/accounts/${other}/tokens`, { name: 'other admin', role: 'admin' })).body.token;
    const here = await dryRun({ chain: devices['dr-admit']!.chainPem, clientId: 'dr-admit', username: 'sensor-17', password: PASSWORD }, token);
    assert.deepEqual([here.status, here.body.error?.code], [404, 'ACCOUNT_NOT_FOUND']);
    const own = await dryRun({ chain: devices['dr-admit']!.chainPem, clientId: 'dr-admit', username: 'sensor-17', password: PASSWORD }, token, other);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual([own.body.reason, own.body.account, own.body.credential], ['BAD_CREDENTIALS', null, { found: false }]);
    assert.equal(JSON.stringify(own.body).includes(account), false, 'the answer names nothing of the other tenant');
    assert.equal(JSON.stringify(own.body).includes(root.id), false);
  });

  it('bounds the dry runs of one token: beyond TWOWAY_DRY_RUNS_PER_MINUTE, 429 RATE_LIMITED with Retry-After', async () => {
    const token = await tokenOf('rate', 'operator');
    for (let i = 0; i < RATE; i++) assert.equal((await dryRun({ username: 'nobody' }, token)).status, 200);
    const r = await fetch(`${sys.apiUrl}/api/v1/accounts/${account}/dry-run`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 429);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    // another token is not held back by it
    assert.equal((await dryRun({ username: 'nobody' }, await tokenOf('rate 2', 'operator'))).status, 200);
  });

  it('`twoway decide` prints the same decision, reason, explanation and fix', async () => {
    const dir = join(sys.dataDir, 'decide');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'chain.pem'), devices['dr-cli']!.chainPem);
    const env = { ...process.env, NODE_TEST_CONTEXT: '', TWOWAY_URL: sys.apiUrl, TWOWAY_TOKEN: await tokenOf('cli') };
    /** `twoway decide ARGS` as a child process, the password (if any) on its standard input. */
    const cli = (args: string[], input = '') =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((ok, fail) => {
        const child = spawn(process.execPath, [bin, 'decide', ...args, '--account', account], { cwd: dir, env });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.once('error', fail);
        child.once('close', (code) => ok({ code, stdout, stderr }));
        child.stdin.end(input);
      });
    const admitted = await cli(['--chain', 'chain.pem', '--client-id', 'dr-cli', '--username', 'sensor-17', '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(admitted.code, 0, admitted.stderr);
    assert.match(admitted.stdout, /^admit\s+MUTUAL_TLS/m);
    assert.match(admitted.stdout, /CN=twoway test root/);
    const refused = await cli(['--chain', 'chain.pem', '--client-id', 'dr-elsewhere', '--username', 'sensor-17', '--json']);
    assert.equal(refused.code, 0, refused.stderr);
    const body = JSON.parse(refused.stdout) as DryRunResult;
    assert.deepEqual([body.decision, body.reason, body.password.checked], ['refuse', 'CN_MISMATCH', false]);
    const human = await cli(['--chain', 'chain.pem', '--client-id', 'dr-elsewhere', '--username', 'sensor-17']);
    assert.match(human.stdout, /^refuse\s+CN_MISMATCH/m);
    assert.ok(human.stdout.includes(body.explanation) && human.stdout.includes(body.fix!), human.stdout);
  });
});
