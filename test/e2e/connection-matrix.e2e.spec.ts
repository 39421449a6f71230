// The connection rule, every cell: account settings (mTLS only / both / TLS only / none) ×
// what the device presents (no certificate, trusted, untrusted, revoked) × password (right, wrong),
// with real TLS and real clients, asserting the CONNACK and the audit event's type and reason.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { System, makeTestPki, tempDir, waitFor } from '@twoway/testing';
import { createRootCa, issueDeviceCert, type Issued } from '@twoway/pki';
import { tryConnect, mosquittoPub } from './support/mqtt.js';
import { Operator, type AuditItem } from './support/operator.js';

type Mode = 'mtls-only' | 'both' | 'tls-only' | 'none';
type Presented = 'none' | 'trusted' | 'untrusted' | 'revoked';
const MODES: Mode[] = ['mtls-only', 'both', 'tls-only', 'none'];
const PRESENTED: Presented[] = ['none', 'trusted', 'untrusted', 'revoked'];

interface Expect { connected: boolean; returnCode?: 4 | 5; type: string; reason: RegExp }
/** The rule, written out: docs/broker.md "The connect decision". */
function expected(mode: Mode, presented: Presented, rightPassword: boolean): Expect {
  const no = (reason: RegExp, returnCode: 4 | 5 = 5): Expect => ({ connected: false, returnCode, type: 'connect.rejected', reason });
  const yes = (reason: RegExp, type = 'connect.accepted'): Expect => ({ connected: true, type, reason });
  // the credential says whose device this is; a wrong password is refused first, whatever the certificate
  if (!rightPassword) return no(/^BAD_CREDENTIALS$/, 4);
  if (mode === 'none') return no(/^ACCOUNT_DISABLED$/);
  if (mode === 'tls-only') return yes(/^PLAIN_TLS$/);
  if (presented === 'trusted') return yes(/^MUTUAL_TLS$/);
  // a verified chain with a revoked certificate never falls back; the revoked one is the device's own
  // registration, below the VALID root its path ends at (not the anchor): CERT_REVOKED, not ANCHOR_REVOKED
  if (presented === 'revoked') return no(/^CERT_REVOKED$/);
  if (mode === 'mtls-only') return no(presented === 'none' ? /^MTLS_REQUIRED$/ : /^CHAIN_UNTRUSTED$/);
  return yes(presented === 'none' ? /^CHAIN_EMPTY$/ : /^CHAIN_UNTRUSTED$/, 'connect.accepted_fallback');
}

describe('connection rule matrix with real clients', { timeout: 300_000 }, () => {
  let sys: System;
  let op: Operator;
  let ca: string;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const accounts = {} as Record<Mode, string>;
  const devices = {} as Record<Mode, Record<Exclude<Presented, 'none'>, Issued>>;
  const password = 'matrix-password-1';

  before(async () => {
    // 16 cells send a wrong password from 127.0.0.1: lift the per-address lockout so every cell
    // reaches the rule under test (the lockout has its own tests in account-settings).
    sys = await System.start({ env: { TWOWAY_CREDENTIAL_MAX_FAILURES: '1000' } });
    op = new Operator(sys);
    ca = await readFile(sys.caFile, 'utf8');
    dir = await tempDir('twoway-matrix-');
    const pki = await makeTestPki({ fresh: true });
    const strangerRoot = await createRootCa({ commonName: 'Matrix Stranger Root' });
    for (const mode of MODES) {
      const settings = {
        'mtls-only': { mtls: true, tls: false },
        both: { mtls: true, tls: true },
        'tls-only': { mtls: false, tls: true },
        none: { mtls: false, tls: false },
      }[mode];
      const id = await op.account(`matrix-${mode}`, settings);
      accounts[mode] = id;
      const username = `matrix-${mode}`;
      // The account's rule alone: the credential's own requirement has its cells in require-certificate.e2e.spec.ts.
      await op.credential(id, username, password, { requireCertificate: false });
      await op.register(id, 'fleet root', pki.root.certPem);
      const revoked = await pki.device(username);
      const reg = await op.register(id, 'lost device', revoked.certPem);
      await op.setStatus(id, reg.id, 'REVOKED');
      devices[mode] = {
        trusted: await pki.device(username),
        untrusted: await issueDeviceCert({ issuer: strangerRoot, commonName: username }),
        revoked,
      };
    }
  });
  after(async () => {
    await sys?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  const cells = MODES.flatMap((mode) => PRESENTED.flatMap((presented) => [true, false].map((right) => ({ mode, presented, right }))));

  it(`every one of the ${cells.length} cells gets the right CONNACK (mqtt package)`, async () => {
    for (const c of cells) {
      const dev = c.presented === 'none' ? undefined : devices[c.mode][c.presented];
      const clientId = `m-${c.mode}-${c.presented}-${c.right ? 'ok' : 'bad'}`;
      const r = await tryConnect(sys.mqttPort, { ca, cert: dev?.chainPem, key: dev?.keyPem }, { clientId, username: `matrix-${c.mode}`, password: c.right ? password : 'wrong-password-9' });
      const want = expected(c.mode, c.presented, c.right);
      assert.equal(r.connected, want.connected, `${clientId}: connected ${r.connected} (${r.error ?? ''})`);
      if (!want.connected) assert.equal(r.returnCode, want.returnCode, `${clientId}: CONNACK ${r.returnCode}`);
      await r.client?.endAsync();
    }
  });

  it('every cell is in the audit trail of its account with the precise reason', async () => {
    for (const mode of MODES) {
      const wanted = cells.filter((c) => c.mode === mode);
      const items = await waitFor(async () => {
        const all = (await op.audit(accounts[mode], { type: 'connect.accepted,connect.accepted_fallback,connect.rejected', limit: '200' })) as AuditItem[];
        return wanted.every((c) => all.some((e) => e.device?.clientId === `m-${c.mode}-${c.presented}-${c.right ? 'ok' : 'bad'}`)) ? all : undefined;
      }, { what: `audit events of ${mode}`, timeoutMs: 20_000 });
      for (const c of wanted) {
        const clientId = `m-${c.mode}-${c.presented}-${c.right ? 'ok' : 'bad'}`;
        const ev = items.find((e) => e.device?.clientId === clientId)!;
        const want = expected(c.mode, c.presented, c.right);
        assert.equal(ev.type, want.type, `${clientId}: ${ev.type}`);
        assert.match(ev.reason ?? '', want.reason, `${clientId}: reason ${ev.reason}`);
        assert.equal(JSON.stringify(ev).includes(password), false, 'no password in an audit event');
        if (c.presented !== 'none' && c.right && c.mode !== 'none') assert.match(ev.device?.certificateFingerprint ?? '', /^[0-9a-f]{64}$/, `${clientId}: certificate recorded`);
        // the refusal names the certificate that is revoked
        if (want.reason.source === '^CERT_REVOKED$') assert.equal((ev.detail as { blockedFingerprint?: string } | undefined)?.blockedFingerprint, devices[mode].revoked.cert.fingerprint, `${clientId}: blocked certificate`);
      }
    }
  });

  it('mosquitto_pub agrees on one row per mode', async () => {
    for (const mode of MODES) {
      const dev = devices[mode].trusted;
      const certFile = join(dir.path, `${mode}.pem`);
      const keyFile = join(dir.path, `${mode}.key`);
      await writeFile(certFile, dev.chainPem);
      await writeFile(keyFile, dev.keyPem, { mode: 0o600 });
      for (const [presentCert, want] of [[true, expected(mode, 'trusted', true)], [false, expected(mode, 'none', true)]] as const) {
        const r = await mosquittoPub(sys.mqttPort, { caFile: sys.caFile, ...(presentCert ? { certFile, keyFile } : {}) }, { clientId: `mosq-${mode}-${presentCert}`, username: `matrix-${mode}`, password }, 'matrix/t', 'x');
        assert.equal(r.code === 0, want.connected, `${mode} ${presentCert ? 'with' : 'without'} certificate: ${r.output}`);
      }
    }
  });
});
