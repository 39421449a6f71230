// The REST command-line clients against a fake twoway API on a free loopback port: what they send,
// what they print, their exit codes, and errors that say what to do.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { DEFAULT_SETTINGS, errorBody, type Account, type AuditEvent, type Certificate, type Credential, type Revocation, type TokenInfo } from '@twoway/contracts';
import { crlPem, issueCrl, makeTestPki, waitFor } from '@twoway/testing';
import { accounts } from './accounts.js';
import { audit } from './audit.js';
import { certs } from './certs.js';
import type { Io } from './command.js';
import { credentials } from './credentials.js';
import { settings } from './settings.js';
import { tokens } from './tokens.js';
import { topicRules } from './topic-rules.js';

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
const TOKEN = 'tw_test_admin';

/** Routes keyed "METHOD /path" (no query); every request is recorded. */
class FakeRest {
  readonly app = Fastify({ logger: false, forceCloseConnections: true });
  readonly routes = new Map<string, Handler>();
  readonly seen: { method: string; path: string; query: Record<string, string>; body: unknown; auth?: string }[] = [];
  url = '';
  async start(): Promise<void> {
    this.app.addContentTypeParser('application/json', { parseAs: 'string' }, (_r, b, done) => done(null, b ? JSON.parse(b as string) : undefined));
    this.app.all('/*', async (req, reply) => {
      const path = req.url.split('?')[0]!;
      this.seen.push({ method: req.method, path, query: req.query as Record<string, string>, body: req.body, auth: req.headers.authorization });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return reply.code(401).send(errorBody('UNAUTHENTICATED'));
      const h = this.routes.get(`${req.method} ${path}`);
      if (!h) return reply.code(404).send(errorBody('NOT_FOUND'));
      return h(req, reply);
    });
    this.url = await this.app.listen({ port: 0, host: '127.0.0.1' });
  }
  on(key: string, h: Handler): void {
    this.routes.set(key, h);
  }
}

function io(env: Record<string, string | undefined> = {}, stdin = ''): Io & { stdout: string; stderr: string; ctrl: AbortController } {
  const ctrl = new AbortController();
  const o = {
    // Never the tester's own token files.
    env: { TWOWAY_DATA_DIR: '/nonexistent-twoway-data', XDG_CONFIG_HOME: '/nonexistent-twoway-config', ...env },
    stdout: '',
    stderr: '',
    ctrl,
    signal: ctrl.signal,
    out(t: string) {
      o.stdout += t.endsWith('\n') ? t : `${t}\n`;
    },
    err(t: string) {
      o.stderr += t.endsWith('\n') ? t : `${t}\n`;
    },
    async write(chunk: Uint8Array | string) {
      o.stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    },
    stdin: async () => stdin,
  };
  return o;
}

const now = '2026-11-23T10:00:00.000Z';
// Full ids are UUIDs: the CLI sends them as they are, anything else it looks up (resolve.ts).
const CRT = '3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10';
const CRT2 = '3f2a9c01-77aa-4bbb-8ccc-000000000002';
const CRED = 'e4d3c2b1-0a9f-4e8d-8c7b-6a5f4e3d2c1b';
const ACC_B = 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30';
const ACC_X = 'a0000000-0000-4000-8000-00000000000x'.replace('x', '9');
const cert = (over: Partial<Certificate> = {}): Certificate => ({
  id: 'crt_1',
  accountId: 'acc_a',
  name: 'Factory root',
  usage: 'MUTUAL_AUTHENTICATION',
  status: 'VALID',
  fingerprint: 'ab'.repeat(32),
  subject: 'CN=Factory root',
  issuer: 'CN=Factory root',
  serial: '01',
  notBefore: now,
  notAfter: '2036-11-23T10:00:00.000Z',
  kind: 'root',
  keyType: 'EC P-256',
  createdAt: now,
  updatedAt: now,
  ...over,
});

describe('twoway REST clients', () => {
  const api = new FakeRest();
  let env: Record<string, string>;
  let dir: string;
  before(async () => {
    await api.start();
    dir = mkdtempSync(join(tmpdir(), 'twoway-cli-'));
  });
  after(async () => {
    await api.app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.routes.clear();
    api.seen.length = 0;
    env = { TWOWAY_URL: api.url, TWOWAY_TOKEN: TOKEN };
    api.on('GET /api/v1/whoami', () => ({ principal: { tokenId: 'tok_1', name: 'bootstrap', accountId: 'acc_a', role: 'admin', provider: true } }));
  });

  describe('token and account', () => {
    it('reads the token from --token, then TWOWAY_TOKEN, then $TWOWAY_DATA_DIR/bootstrap-token', async () => {
      api.on('GET /api/v1/accounts/acc_a', () => ({ id: 'acc_a', name: 'Acme', parentId: null, createdAt: now }));
      writeFileSync(join(dir, 'bootstrap-token'), `${TOKEN}\n`);
      const fromFile = io({ TWOWAY_URL: api.url, TWOWAY_DATA_DIR: dir });
      assert.equal(await accounts(['show'], fromFile), 0, fromFile.stderr);
      assert.match(fromFile.stdout, /name:\s+Acme/);
      const flagWins = io({ TWOWAY_URL: api.url, TWOWAY_TOKEN: 'wrong' });
      assert.equal(await accounts(['show', '--token', TOKEN], flagWins), 0, flagWins.stderr);
    });

    it('says how to get a token when there is none', async () => {
      const o = io({ TWOWAY_URL: api.url });
      assert.equal(await certs(['ls'], o), 2);
      assert.match(o.stderr, /no API token\. Looked at, in this order:\n {2}--token \(not given\)\n {2}\$TWOWAY_TOKEN \(not set\)\n {2}\$TWOWAY_TOKEN_FILE \(not set\)\n {2}\/nonexistent-twoway-config\/twoway\/token \(not found\)\n {2}\/nonexistent-twoway-data\/bootstrap-token \(not found\)\n/);
      assert.equal(api.seen.length, 0);
    });

    it('turns a 401 into what to do', async () => {
      const o = io({ ...env, TWOWAY_TOKEN: 'revoked' });
      assert.equal(await certs(['ls'], o), 1);
      assert.match(o.stderr, /A valid bearer token is required\. \[UNAUTHENTICATED\]\n {2}→ the token from \$TWOWAY_TOKEN was refused: pass --token or set TWOWAY_TOKEN/);
    });

    it('asks for --account when the API has no whoami', async () => {
      api.routes.delete('GET /api/v1/whoami');
      const o = io(env);
      assert.equal(await certs(['ls'], o), 2);
      assert.match(o.stderr, /pass --account <id>/);
      api.on(`GET /api/v1/accounts/${ACC_B}/certificates`, () => ({ items: [], nextCursor: null }));
      assert.equal(await certs(['ls', '--account', ACC_B], io(env)), 0);
    });

    it('explains an account outside the token', async () => {
      api.on(`GET /api/v1/accounts/${ACC_X}/certificates`, (_q, r) => r.code(404).send(errorBody('ACCOUNT_NOT_FOUND')));
      const o = io(env);
      assert.equal(await certs(['ls', '--account', ACC_X], o), 1);
      assert.match(o.stderr, /Account not found\. \[ACCOUNT_NOT_FOUND\]\n {2}→ check --account/);
    });
  });


  describe('token file', () => {
    it('reads $TWOWAY_TOKEN_FILE, else the user file under $XDG_CONFIG_HOME, before the data dir', async () => {
      api.on('GET /api/v1/accounts/acc_a', () => ({ id: 'acc_a', name: 'Acme', parentId: null, createdAt: now }));
      const file = join(dir, 'my-token');
      writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
      const viaEnv = io({ TWOWAY_URL: api.url, TWOWAY_TOKEN_FILE: file });
      assert.equal(await accounts(['show'], viaEnv), 0, viaEnv.stderr);
      assert.equal(viaEnv.stderr, '');
      const config = join(dir, 'config');
      mkdirSync(join(config, 'twoway'), { recursive: true });
      writeFileSync(join(config, 'twoway', 'token'), TOKEN, { mode: 0o600 });
      writeFileSync(join(dir, 'bootstrap-token'), 'tw_not_this_one');
      const viaUserFile = io({ TWOWAY_URL: api.url, XDG_CONFIG_HOME: config, TWOWAY_DATA_DIR: dir });
      assert.equal(await accounts(['show'], viaUserFile), 0, viaUserFile.stderr);
      assert.ok(api.seen.every((r) => r.auth === `Bearer ${TOKEN}`));
    });

    it('names the file it tried when $TWOWAY_TOKEN_FILE is missing, and falls back to nothing else', async () => {
      writeFileSync(join(dir, 'bootstrap-token'), TOKEN);
      const o = io({ TWOWAY_URL: api.url, TWOWAY_TOKEN_FILE: 'no/such/token', TWOWAY_DATA_DIR: dir });
      assert.equal(await certs(['ls'], o), 2);
      assert.ok(o.stderr.includes(`$TWOWAY_TOKEN_FILE=${join(process.cwd(), 'no/such/token')} (not found)`), o.stderr);
      assert.equal(api.seen.length, 0);
    });

    it('names the file whose token was refused, and warns when others can read it', async () => {
      const file = join(dir, 'old-token');
      writeFileSync(file, 'tw_revoked');
      chmodSync(file, 0o644);
      const o = io({ TWOWAY_URL: api.url, TWOWAY_TOKEN_FILE: file });
      assert.equal(await certs(['ls', '--account', ACC_B], o), 1);
      assert.match(o.stderr, new RegExp(`warning: ${file} can be read by other users; restrict it with \`chmod 600 ${file}\``));
      assert.ok(o.stderr.includes(`→ the token from ${file} was refused`), o.stderr);
    });
  });

  describe('naming things by id, id prefix or name', () => {
    /** A list route that filters by `idPrefix` and one name field, as the API does. */
    const listing =
      <T extends { id: string }>(items: T[], nameKey: keyof T & string) =>
      (req: FastifyRequest) => {
        const q = req.query as Record<string, string>;
        return { items: items.filter((x) => (!q.idPrefix || x.id.startsWith(q.idPrefix)) && (!q[nameKey] || x[nameKey] === q[nameKey])), nextCursor: null };
      };

    it('a certificate by name, by an id prefix of 8 hex digits, and by full id without a lookup', async () => {
      api.on('GET /api/v1/accounts/acc_a/certificates', listing([cert({ id: CRT }), cert({ id: CRT2, name: 'Line 2' })], 'name'));
      api.on(`PATCH /api/v1/accounts/acc_a/certificates/${CRT}`, () => cert({ id: CRT, status: 'SUSPENDED' }));
      api.on(`GET /api/v1/accounts/acc_a/certificates/${CRT2}`, () => cert({ id: CRT2, name: 'Line 2' }));
      const byName = io(env);
      assert.equal(await certs(['suspend', 'Factory root'], byName), 0, byName.stderr);
      assert.match(byName.stdout, new RegExp(`suspended Factory root \\(${CRT}, root\\)`));
      const byPrefix = io(env);
      assert.equal(await certs(['show', '3f2a9c01-77'], byPrefix), 0, byPrefix.stderr);
      assert.match(byPrefix.stdout, /name:\s+Line 2/);
      api.seen.length = 0;
      assert.equal(await certs(['show', CRT2], io(env)), 0);
      assert.deepEqual(api.seen.map((r) => `${r.method} ${r.path}`), ['GET /api/v1/whoami', `GET /api/v1/accounts/acc_a/certificates/${CRT2}`]);
    });

    it('an ambiguous prefix or name lists the candidates and changes nothing', async () => {
      api.on('GET /api/v1/accounts/acc_a/certificates', listing([cert({ id: CRT }), cert({ id: CRT2, name: 'Factory root' })], 'name'));
      for (const ref of ['3f2a9c01', 'Factory root']) {
        const o = io(env);
        assert.equal(await certs(['revoke', ref], o), 2);
        assert.match(o.stderr, new RegExp(`'${ref}' is ambiguous: 2 certificates match\\n {4}ID +NAME +KIND +STATUS +SUBJECT\\n {4}${CRT} +Factory root[\\s\\S]*\\n {4}${CRT2} [\\s\\S]*→ name one by its id`));
      }
      assert.equal(api.seen.filter((r) => r.method === 'PATCH').length, 0);
    });

    it('a name that is nothing says so, and a prefix under 8 digits is not one', async () => {
      api.on('GET /api/v1/accounts/acc_a/certificates', listing([cert({ id: CRT })], 'name'));
      const o = io(env);
      assert.equal(await certs(['rm', '3f2a9c'], o), 1);
      assert.match(o.stderr, /no certificate '3f2a9c': it is neither an id, an id prefix nor a name \(an id prefix needs at least 8 hex digits\)\n {2}→ list them with `twoway certs ls`/);
      assert.equal(api.seen.filter((r) => r.method === 'DELETE').length, 0);
    });

    it('--account by name in the token’s subtree; credentials by username; tokens by name', async () => {
      const berlin: Account = { id: ACC_B, name: 'Berlin', parentId: 'acc_a', createdAt: now };
      api.on('GET /api/v1/whoami', () => ({ principal: { tokenId: 'tok_1', name: 'bootstrap', accountId: 'acc_a', role: 'admin', provider: true }, account: { id: 'acc_a', name: 'Acme', parentId: null, createdAt: now } }));
      api.on('GET /api/v1/accounts/acc_a/children', listing([berlin], 'name'));
      const cred: Credential = { id: CRED, accountId: ACC_B, username: 'sensor-1', enabled: true, expiresAt: null, createdAt: now, requireCertificate: false };
      api.on(`GET /api/v1/accounts/${ACC_B}/credentials`, listing([cred], 'username'));
      api.on(`DELETE /api/v1/accounts/${ACC_B}/credentials/${CRED}`, (_q, r) => r.code(204).send());
      const o = io(env);
      assert.equal(await credentials(['rm', 'sensor-1', '--account', 'Berlin'], o), 0, o.stderr);
      assert.equal(o.stdout, `removed ${CRED}\n`);
      assert.equal(api.seen.find((r) => r.path === '/api/v1/accounts/acc_a/children')?.query.recursive, 'true');

      const tok: TokenInfo = { id: '9f8e7d6c5b4a39281706f5e4', accountId: 'acc_a', name: 'ci', role: 'operator', expiresAt: null, revokedAt: null, createdAt: now };
      api.on('GET /api/v1/accounts/acc_a/tokens', listing([tok], 'name'));
      api.on(`DELETE /api/v1/accounts/acc_a/tokens/${tok.id}`, (_q, r) => r.code(204).send());
      const t = io(env);
      assert.equal(await tokens(['revoke', 'ci'], t), 0, t.stderr);
      assert.equal(t.stdout, `revoked ${tok.id}\n`);
      // the token's own account answers to its name too
      api.on('GET /api/v1/accounts/acc_a', () => ({ id: 'acc_a', name: 'Acme', parentId: null, createdAt: now }));
      const self = io(env);
      assert.equal(await accounts(['show', 'Acme'], self), 0, self.stderr);
      assert.match(self.stdout, /id:\s+acc_a/);
    });
  });

  describe('certs', () => {
    it('adds a PEM file to the token’s account and prints what was registered', async () => {
      const pki = await makeTestPki();
      const file = join(dir, 'root.pem');
      writeFileSync(file, pki.root.certPem);
      api.on('POST /api/v1/accounts/acc_a/certificates', (req, reply) => reply.code(201).send(cert({ name: (req.body as { name: string }).name })));
      const o = io(env);
      assert.equal(await certs(['add', file, '--name', 'Dev root'], o), 0, o.stderr);
      const post = api.seen.find((r) => r.method === 'POST')!;
      assert.equal(post.auth, `Bearer ${TOKEN}`);
      assert.deepEqual(post.body, { name: 'Dev root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem });
      assert.match(o.stdout, /^added Dev root \(crt_1\): root, VALID, sha256 (ab){32}\n$/);
    });

    it('reads stdin for -, and prints JSON with --json', async () => {
      const pki = await makeTestPki();
      api.on('POST /api/v1/accounts/acc_a/certificates', (_q, reply) => reply.code(201).send(cert()));
      const o = io(env, pki.intermediate.certPem);
      assert.equal(await certs(['add', '-', '--name', 'x', '--json'], o), 0, o.stderr);
      assert.deepEqual(JSON.parse(o.stdout), cert());
    });

    it('refuses a private key before sending anything', async () => {
      const pki = await makeTestPki();
      const file = join(dir, 'with-key.pem');
      writeFileSync(file, pki.root.certPem + pki.root.keyPem);
      const o = io(env);
      assert.equal(await certs(['add', file, '--name', 'oops'], o), 2);
      assert.match(o.stderr, /contains a private key: nothing was sent/);
      assert.ok(!o.stderr.includes('PRIVATE KEY-----'), 'the key is not echoed');
      assert.equal(api.seen.filter((r) => r.method === 'POST').length, 0);
    });

    it('refuses a chain file unless --split, then adds each certificate', async () => {
      const pki = await makeTestPki();
      const file = join(dir, 'chain.pem');
      writeFileSync(file, pki.intermediate.certPem + pki.root.certPem);
      const o = io(env);
      assert.equal(await certs(['add', file, '--name', 'Chain'], o), 2);
      assert.match(o.stderr, /holds 2 certificates.*Pass --split/);
      let n = 0;
      api.on('POST /api/v1/accounts/acc_a/certificates', (req, reply) => reply.code(201).send(cert({ id: `crt_${++n}`, name: (req.body as { name: string }).name })));
      const o2 = io(env);
      assert.equal(await certs(['add', file, '--name', 'Chain', '--split'], o2), 0, o2.stderr);
      assert.deepEqual(
        api.seen.filter((r) => r.method === 'POST').map((r) => (r.body as { name: string }).name),
        ['Chain #1', 'Chain #2'],
      );
      assert.match(o2.stdout, /added Chain #1 \(crt_1\)[\s\S]*added Chain #2 \(crt_2\)/);
    });

    it('lists with filters as a table, following cursors', async () => {
      api.on('GET /api/v1/accounts/acc_a/certificates', (req) =>
        (req.query as { cursor?: string }).cursor === 'p2'
          ? { items: [cert({ id: 'crt_2', name: 'Line 2', kind: 'intermediate', status: 'SUSPENDED' })], nextCursor: null }
          : { items: [cert()], nextCursor: 'p2' },
      );
      const o = io(env);
      assert.equal(await certs(['ls', '--status', 'suspended', '--q', 'line'], o), 0, o.stderr);
      const first = api.seen.find((r) => r.path.endsWith('/certificates'))!;
      assert.equal(first.query.status, 'SUSPENDED');
      assert.equal(first.query.q, 'line');
      assert.deepEqual(o.stdout.split('\n').slice(0, 3), [
        'ID     NAME          KIND          STATUS     NOT AFTER             SUBJECT',
        'crt_1  Factory root  root          VALID      2036-11-23 10:00:00Z  CN=Factory root',
        'crt_2  Line 2        intermediate  SUSPENDED  2036-11-23 10:00:00Z  CN=Factory root',
      ]);
    });

    it('lists what ends within --expiring DAYS, saying which are expiring or expired', async () => {
      api.on('GET /api/v1/accounts/acc_a/certificates', () => ({
        items: [cert({ notAfter: '2026-12-01T10:00:00.000Z', expiry: 'expiring' }), cert({ id: 'crt_2', name: 'Old batch', kind: 'intermediate', notAfter: '2026-10-01T10:00:00.000Z', expiry: 'expired' })],
        nextCursor: null,
      }));
      const o = io(env);
      assert.equal(await certs(['ls', '--expiring', '30'], o), 0, o.stderr);
      assert.equal(api.seen.find((r) => r.path.endsWith('/certificates'))!.query.expiresWithinDays, '30');
      assert.deepEqual(o.stdout.split('\n').slice(0, 3), [
        'ID     NAME          KIND          STATUS  NOT AFTER                        SUBJECT',
        'crt_1  Factory root  root          VALID   2026-12-01 10:00:00Z (expiring)  CN=Factory root',
        'crt_2  Old batch     intermediate  VALID   2026-10-01 10:00:00Z (expired)   CN=Factory root',
      ]);
      api.on('GET /api/v1/accounts/acc_a/certificates', () => ({ items: [], nextCursor: null }));
      const none = io(env);
      assert.equal(await certs(['ls', '--expiring', '0'], none), 0, none.stderr);
      assert.equal(none.stdout, 'no certificate ends within 0 days\n');
    });

    for (const bad of ['-3', 'soon', '3651', '1.5']) {
      it(`refuses --expiring ${bad} before asking the API`, async () => {
        const o = io(env);
        assert.equal(await certs(['ls', `--expiring=${bad}`], o), 2);
        assert.match(o.stderr, /--expiring must be a number of days from 0 to 3650/);
        assert.equal(api.seen.length, 0);
      });
    }

    it('rejects an unknown status value with the accepted ones', async () => {
      const o = io(env);
      assert.equal(await certs(['ls', '--status', 'broken'], o), 2);
      assert.match(o.stderr, /--status must be one of VALID, SUSPENDED, REVOKED/);
    });

    for (const [sub, status] of [['suspend', 'SUSPENDED'], ['revoke', 'REVOKED'], ['restore', 'VALID']] as const) {
      it(`${sub} sends PATCH {status: ${status}}`, async () => {
        api.on(`PATCH /api/v1/accounts/acc_a/certificates/${CRT}`, (req) => cert({ status: (req.body as { status: Certificate['status'] }).status }));
        const o = io(env);
        assert.equal(await certs([sub, CRT], o), 0, o.stderr);
        assert.deepEqual(api.seen.find((r) => r.method === 'PATCH')?.body, { status });
        assert.match(o.stdout, new RegExp(`status ${status}`));
      });
    }

    it('says how to find the id of a certificate that does not exist', async () => {
      api.on(`DELETE /api/v1/accounts/acc_a/certificates/${CRT2}`, (_q, r) => r.code(404).send(errorBody('CERT_NOT_FOUND')));
      const o = io(env);
      assert.equal(await certs(['rm', CRT2], o), 1);
      assert.match(o.stderr, /Certificate not found\. \[CERT_NOT_FOUND\]\n {2}→ list the certificates and their ids with `twoway certs ls`/);
    });

    it('usage errors exit 2 with the help', async () => {
      const o = io(env);
      assert.equal(await certs(['suspend'], o), 2);
      assert.match(o.stderr, /missing <id\|prefix\|name>[\s\S]*usage: twoway certs suspend <id\|prefix\|name>/);
      const o2 = io(env);
      assert.equal(await certs(['ls', '--bogus'], o2), 2);
      assert.match(o2.stderr, /Unknown option '--bogus'/);
      const o3 = io(env);
      assert.equal(await certs(['frobnicate'], o3), 2);
      assert.match(o3.stderr, /unknown subcommand 'frobnicate'/);
    });
  });

  describe('certs: CRLs and revoked serials', () => {
    // A full id: sent as it is (the lookup by name or prefix is shown once, below).
    const CA = 'c4a00000-1111-4222-8333-444455556666';
    const revocation = (over: Partial<Revocation> = {}): Revocation => ({
      certificateId: CA,
      crl: { issuer: 'CN=twoway test intermediate', thisUpdate: now, nextUpdate: '2026-11-30T10:00:00.000Z', number: '7', entries: 2, fingerprint: 'cd'.repeat(32), source: 'upload', updatedAt: now, stale: false },
      distributionPoint: null,
      revokedSerials: 1,
      ...over,
    });

    it('crl-upload sends a PEM file as it is and a DER file as base64, and shows the CRL stored', async () => {
      const pki = await makeTestPki();
      const der = issueCrl(pki.intermediate, { serials: ['0a'], number: 7 });
      writeFileSync(join(dir, 'ca.crl'), der);
      writeFileSync(join(dir, 'ca.crl.pem'), crlPem(der));
      api.on(`PUT /api/v1/accounts/acc_a/certificates/${CA}/crl`, () => revocation());
      const o = io(env);
      assert.equal(await certs(['crl-upload', CA, join(dir, 'ca.crl')], o), 0, o.stderr);
      assert.deepEqual(api.seen.at(-1)?.body, { crl: Buffer.from(der).toString('base64') });
      assert.match(o.stdout, /crl:\s+number 7, 2 serials, uploaded 2026-11-23 10:00:00Z/);
      assert.match(o.stdout, /next update:\s+2026-11-30 10:00:00Z\n/);
      const p = io(env);
      assert.equal(await certs(['crl-upload', CA, join(dir, 'ca.crl.pem')], p), 0, p.stderr);
      assert.deepEqual(api.seen.at(-1)?.body, { crl: crlPem(der) });
    });

    it('crl-upload refuses a private key before sending anything, and explains a refusal', async () => {
      const pki = await makeTestPki();
      writeFileSync(join(dir, 'key.pem'), pki.intermediate.keyPem);
      const o = io(env);
      assert.equal(await certs(['crl-upload', CA, join(dir, 'key.pem')], o), 2);
      assert.match(o.stderr, /contains a private key: nothing was sent/);
      assert.equal(api.seen.filter((r) => r.method === 'PUT').length, 0);
      api.on(`PUT /api/v1/accounts/acc_a/certificates/${CA}/crl`, (_q, r) => r.code(422).send(errorBody('CRL_SIGNATURE_INVALID', "the CRL is not signed by the key of 'CN=x'")));
      writeFileSync(join(dir, 'other.crl'), issueCrl(pki.root));
      const e = io(env);
      assert.equal(await certs(['crl-upload', CA, join(dir, 'other.crl')], e), 1);
      assert.match(e.stderr, /not signed by the key of 'CN=x' \[CRL_SIGNATURE_INVALID\]\n {2}→ the CRL must be signed by this CA's key/);
    });

    it('crl shows a stale CRL and the distribution point\'s state', async () => {
      api.on(`GET /api/v1/accounts/acc_a/certificates/${CA}/crl`, () =>
        revocation({
          crl: { ...revocation().crl!, stale: true, source: 'fetch' },
          distributionPoint: { url: 'http://pki.example/ca.crl', lastAttemptAt: now, lastSuccessAt: now, lastError: 'CRL_FETCH_FAILED: HTTP 404', failures: 2, nextFetchAt: now },
        }),
      );
      const o = io(env);
      assert.equal(await certs(['crl', CA], o), 0, o.stderr);
      assert.match(o.stdout, /next update:\s+2026-11-30 10:00:00Z {2}\(STALE: past its next update\)/);
      assert.match(o.stdout, /distribution point:\s+http:\/\/pki\.example\/ca\.crl/);
      assert.match(o.stdout, /failures:\s+2 \(last: CRL_FETCH_FAILED: HTTP 404\)/);
    });

    it('crl-url sets or clears the distribution point; crl-fetch and crl-rm call their routes', async () => {
      api.on(`PUT /api/v1/accounts/acc_a/certificates/${CA}/crl/distribution-point`, () => revocation());
      api.on(`POST /api/v1/accounts/acc_a/certificates/${CA}/crl/fetch`, () => revocation());
      api.on(`DELETE /api/v1/accounts/acc_a/certificates/${CA}/crl`, (_q, r) => r.code(204).send());
      assert.equal(await certs(['crl-url', CA, 'https://pki.example/ca.crl'], io(env)), 0);
      assert.deepEqual(api.seen.at(-1)?.body, { url: 'https://pki.example/ca.crl' });
      assert.equal(await certs(['crl-url', CA, 'none'], io(env)), 0);
      assert.deepEqual(api.seen.at(-1)?.body, { url: null });
      assert.equal(await certs(['crl-fetch', CA], io(env)), 0);
      const rm = io(env);
      assert.equal(await certs(['crl-rm', CA], rm), 0, rm.stderr);
      assert.equal(rm.stdout, `removed the CRL of ${CA}\n`);
    });

    it('revoke-serial and restore-serial: one device by serial number, no certificate', async () => {
      api.on(`POST /api/v1/accounts/acc_a/certificates/${CA}/revoked-serials`, (_q, r) => r.code(201).send({ certificateId: CA, serial: '4a1b', reason: 'keyCompromise', revokedAt: now, revokedBy: 'bootstrap' }));
      api.on(`DELETE /api/v1/accounts/acc_a/certificates/${CA}/revoked-serials/4A%3A1B`, (_q, r) => r.code(204).send()); // the serial is URL-encoded
      const o = io(env);
      assert.equal(await certs(['revoke-serial', CA, '4A:1B', '--reason', 'keyCompromise'], o), 0, o.stderr);
      assert.deepEqual(api.seen.at(-1)?.body, { serial: '4A:1B', reason: 'keyCompromise' });
      assert.equal(o.stdout, `revoked serial 4a1b under ${CA} (keyCompromise)\n`);
      const bad = io(env);
      assert.equal(await certs(['revoke-serial', CA, '01', '--reason', 'bored'], bad), 2);
      assert.match(bad.stderr, /--reason must be one of unspecified, keyCompromise/);
      const r = io(env);
      assert.equal(await certs(['restore-serial', CA, '4A:1B'], r), 0, r.stderr);
      assert.equal(r.stdout, `restored serial 4A:1B under ${CA}\n`);
    });

    it('names the CA like any certificate: by name or id prefix, looked up before the CRL route is called', async () => {
      api.on('GET /api/v1/accounts/acc_a/certificates', (req: FastifyRequest) => {
        const q = req.query as Record<string, string>;
        const ca = cert({ id: CA, name: 'Factory CA', kind: 'intermediate' });
        return { items: (q.idPrefix ? CA.startsWith(q.idPrefix) : q.name === ca.name) ? [ca] : [], nextCursor: null };
      });
      api.on(`GET /api/v1/accounts/acc_a/certificates/${CA}/crl`, () => revocation());
      api.on(`POST /api/v1/accounts/acc_a/certificates/${CA}/revoked-serials`, (_q, r) => r.code(201).send({ certificateId: CA, serial: '4a1b', reason: null, revokedAt: now, revokedBy: 'bootstrap' }));
      const byName = io(env);
      assert.equal(await certs(['crl', 'Factory CA'], byName), 0, byName.stderr);
      assert.match(byName.stdout, new RegExp(`ca:\\s+${CA}`));
      const byPrefix = io(env);
      assert.equal(await certs(['revoke-serial', 'c4a00000', '4A:1B'], byPrefix), 0, byPrefix.stderr);
      assert.equal(api.seen.at(-1)?.path, `/api/v1/accounts/acc_a/certificates/${CA}/revoked-serials`);
      const none = io(env);
      assert.equal(await certs(['crl-rm', 'Nobody CA'], none), 1);
      assert.match(none.stderr, /no certificate 'Nobody CA': it is neither an id, an id prefix nor a name/);
      assert.equal(api.seen.filter((r) => r.method === 'DELETE').length, 0, 'nothing removed');
    });

    it('settings set --stale-crl refuse', async () => {
      api.on('PUT /api/v1/accounts/acc_a/settings', () => ({ ...DEFAULT_SETTINGS, revocation: { staleCrl: 'refuse' } }));
      const o = io(env);
      assert.equal(await settings(['set', '--stale-crl', 'refuse'], o), 0, o.stderr);
      assert.deepEqual(api.seen.at(-1)?.body, { revocation: { staleCrl: 'refuse' } });
      assert.match(o.stdout, /stale CRL:\s+refuse/);
    });
  });

  describe('settings, credentials, tokens, accounts', () => {
    it('settings set sends only what changed', async () => {
      api.on('PUT /api/v1/accounts/acc_a/settings', () => ({
        tls: { enabled: true },
        mutualTls: { available: true, enabled: true },
        identity: { bindCertificateTo: 'clientId', credentialLookup: 'username' },
      }));
      const o = io(env);
      assert.equal(await settings(['set', '--mtls', 'on', '--bind', 'clientId'], o), 0, o.stderr);
      assert.deepEqual(api.seen.find((r) => r.method === 'PUT')?.body, { mutualTls: { enabled: true }, identity: { bindCertificateTo: 'clientId' } });
      assert.match(o.stdout, /mutual tls available:\s+yes \(provider-controlled\)/);
      const bad = io(env);
      assert.equal(await settings(['set', '--bind', 'serial'], bad), 2);
      assert.match(bad.stderr, /--bind must be one of none, clientId, username, both/);
      const none = io(env);
      assert.equal(await settings(['set'], none), 2);
      assert.match(none.stderr, /nothing to change/);
    });

    it('settings set explains PROVIDER_ONLY', async () => {
      api.on('PUT /api/v1/accounts/acc_a/settings', (_q, r) => r.code(403).send(errorBody('PROVIDER_ONLY')));
      const o = io(env);
      assert.equal(await settings(['set', '--mtls-available', 'on'], o), 1);
      assert.match(o.stderr, /Only the provider may change this setting; contact your provider\. \[PROVIDER_ONLY\]/);
    });

    it('topic-rules add and rm send the whole list, in order; ls shows the index audit events name', async () => {
      let stored = [{ effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' }];
      api.on('GET /api/v1/accounts/acc_a/topic-rules', () => ({ rules: stored }));
      api.on('PUT /api/v1/accounts/acc_a/topic-rules', (req) => ({ rules: (stored = (req.body as { rules: typeof stored }).rules) }));
      const o = io(env);
      assert.equal(await topicRules(['add', 'deny', 'both', 'devices/${clientId}/admin/#', '--at', '0'], o), 0, o.stderr);
      assert.deepEqual(api.seen.find((r) => r.method === 'PUT')?.body, { rules: [{ effect: 'deny', action: 'both', filter: 'devices/${clientId}/admin/#' }, { effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' }] });
      assert.match(o.stdout, /^RULE {2}EFFECT {2}ACTION {2}FILTER\n0 {5}deny {4}both {4}devices\/\$\{clientId\}\/admin\/#\n1 {5}allow/);
      const rm = io(env);
      assert.equal(await topicRules(['rm', '0'], rm), 0, rm.stderr);
      assert.deepEqual(stored, [{ effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' }]);
      const bad = io(env);
      assert.equal(await topicRules(['rm', '5'], bad), 2);
      assert.match(bad.stderr, /the rule index must be 0 to 0 \(got '5'\)/);
      const effect = io(env);
      assert.equal(await topicRules(['add', 'permit', 'both', 'x'], effect), 2);
      assert.match(effect.stderr, /--effect must be one of allow, deny \(got 'permit'\)/);
    });

    it('topic-rules set reads a list from standard input; clear sends none; a refusal says why', async () => {
      let stored: unknown[] = [];
      api.on('GET /api/v1/accounts/acc_a/topic-rules', () => ({ rules: stored }));
      api.on('PUT /api/v1/accounts/acc_a/topic-rules', (req, reply) => {
        const rules = (req.body as { rules: { filter: string }[] }).rules;
        if (rules.some((r) => r.filter.includes('#/'))) return reply.code(422).send(errorBody('TOPIC_RULES_INVALID', "rules[0].filter: '#' must be the last level"));
        return { rules: (stored = rules) };
      });
      const list = [{ effect: 'allow', action: 'publish', filter: 'telemetry/${username}' }];
      const o = io(env, JSON.stringify({ rules: list }));
      assert.equal(await topicRules(['set', '-'], o), 0, o.stderr);
      assert.deepEqual(stored, list);
      const c = io(env);
      assert.equal(await topicRules(['clear'], c), 0, c.stderr);
      assert.deepEqual(api.seen.at(-1)?.body, { rules: [] });
      assert.match(c.stdout, /no topic rules: devices publish and subscribe anywhere/);
      const refused = io(env, JSON.stringify([{ effect: 'allow', action: 'both', filter: 'a/#/b' }]));
      assert.equal(await topicRules(['set', '-'], refused), 1);
      assert.match(refused.stderr, /rules\[0\]\.filter: '#' must be the last level \[TOPIC_RULES_INVALID\]/);
      const notJson = io(env, 'allow both #');
      assert.equal(await topicRules(['set', '-'], notJson), 2);
      assert.match(notJson.stderr, /standard input is not JSON/);
    });

    it('credentials add generates a password and prints it once; --password-stdin reads it', async () => {
      api.on('POST /api/v1/accounts/acc_a/credentials', (req, reply) => {
        const b = req.body as { username: string; requireCertificate?: boolean };
        return reply.code(201).send({ id: 'cred_1', accountId: 'acc_a', username: b.username, enabled: true, expiresAt: null, createdAt: now, requireCertificate: b.requireCertificate ?? true });
      });
      const o = io(env);
      assert.equal(await credentials(['add', '--username', 'sensor-1'], o), 0, o.stderr);
      const sent = api.seen.find((r) => r.method === 'POST')!.body as { password: string };
      assert.ok(sent.password.length >= 20);
      assert.match(o.stdout, new RegExp(`password: ${sent.password.replace(/[-_]/g, '.')}\\n\\(shown once`));
      api.seen.length = 0;
      const o2 = io(env, 'correct horse battery\n');
      assert.equal(await credentials(['add', '--username', 'sensor-2', '--password-stdin'], o2), 0, o2.stderr);
      assert.equal((api.seen.find((r) => r.method === 'POST')!.body as { password: string }).password, 'correct horse battery');
      assert.ok(!o2.stdout.includes('correct horse'), 'a given password is not echoed');
    });

    it('credentials add leaves requireCertificate to the account unless told; --no-require-certificate sends false', async () => {
      api.on('POST /api/v1/accounts/acc_a/credentials', (req, reply) => {
        const b = req.body as { username: string; requireCertificate?: boolean };
        return reply.code(201).send({ id: 'cred_1', accountId: 'acc_a', username: b.username, enabled: true, expiresAt: null, createdAt: now, requireCertificate: b.requireCertificate ?? true });
      });
      const o = io(env, 'correct horse battery\n');
      assert.equal(await credentials(['add', '--username', 'sensor-1', '--password-stdin'], o), 0, o.stderr);
      assert.equal('requireCertificate' in (api.seen.find((r) => r.method === 'POST')!.body as object), false);
      assert.equal(o.stdout, 'added sensor-1 (cred_1), certificate required\n');
      api.seen.length = 0;
      const o2 = io(env, 'correct horse battery\n');
      assert.equal(await credentials(['add', '--username', 'sensor-2', '--password-stdin', '--no-require-certificate'], o2), 0, o2.stderr);
      assert.equal((api.seen.find((r) => r.method === 'POST')!.body as { requireCertificate?: boolean }).requireCertificate, false);
      assert.equal(o2.stdout, 'added sensor-2 (cred_1), certificate optional\n');
      const o3 = io(env, 'correct horse battery\n');
      assert.equal(await credentials(['add', '--username', 'sensor-3', '--password-stdin', '--require-certificate', '--no-require-certificate'], o3), 2);
      assert.match(o3.stderr, /not both/);
    });

    it('credentials update --require-certificate sends PATCH {requireCertificate:true}; without a flag it is a usage error', async () => {
      api.on(`PATCH /api/v1/accounts/acc_a/credentials/${CRED}`, (req) => ({ id: CRED, accountId: 'acc_a', username: 'sensor-1', enabled: true, expiresAt: null, createdAt: now, ...(req.body as object) }));
      const o = io(env);
      assert.equal(await credentials(['update', CRED, '--require-certificate'], o), 0, o.stderr);
      assert.deepEqual(api.seen.find((r) => r.method === 'PATCH')?.body, { requireCertificate: true });
      assert.equal(o.stdout, `sensor-1 (${CRED}): certificate required\n`);
      api.seen.length = 0;
      const o2 = io(env);
      assert.equal(await credentials(['update', CRED], o2), 2);
      assert.match(o2.stderr, /nothing to change/);
      assert.equal(api.seen.filter((r) => r.method === 'PATCH').length, 0);
    });

    it('credentials disable sends PATCH {enabled:false}', async () => {
      api.on(`PATCH /api/v1/accounts/acc_a/credentials/${CRED}`, () => ({ id: CRED, accountId: 'acc_a', username: 'sensor-1', enabled: false, expiresAt: null, createdAt: now }));
      const o = io(env);
      assert.equal(await credentials(['disable', CRED], o), 0, o.stderr);
      assert.deepEqual(api.seen.find((r) => r.method === 'PATCH')?.body, { enabled: false });
      assert.equal(o.stdout, `disabled sensor-1 (${CRED})\n`);
    });

    it('tokens create prints the secret once; a missing role is a usage error', async () => {
      api.on('POST /api/v1/accounts/acc_a/tokens', (_q, reply) => reply.code(201).send({ id: 'tok_2', token: 'tw_secret_value' }));
      const o = io(env);
      assert.equal(await tokens(['create', '--name', 'Factory PKI', '--role', 'provisioner'], o), 0, o.stderr);
      assert.deepEqual(api.seen.find((r) => r.method === 'POST')?.body, { name: 'Factory PKI', role: 'provisioner' });
      assert.match(o.stdout, /token: tw_secret_value\n/);
      const bad = io(env);
      assert.equal(await tokens(['create', '--name', 'x'], bad), 2);
      assert.match(bad.stderr, /--role is required: one of admin, operator, provisioner/);
    });

    it('accounts create under the token’s account, and children as a table', async () => {
      api.on('POST /api/v1/accounts', (req, reply) => reply.code(201).send({ id: 'acc_b', name: 'Berlin', parentId: (req.body as { parentId: string }).parentId, createdAt: now }));
      api.on('GET /api/v1/accounts/acc_a/children', () => ({ items: [{ id: 'acc_b', name: 'Berlin', parentId: 'acc_a', createdAt: now }], nextCursor: null }));
      const o = io(env);
      assert.equal(await accounts(['create', '--name', 'Berlin'], o), 0, o.stderr);
      assert.deepEqual(api.seen.find((r) => r.method === 'POST')?.body, { name: 'Berlin', parentId: 'acc_a' });
      const o2 = io(env);
      assert.equal(await accounts(['children', '--json'], o2), 0, o2.stderr);
      assert.deepEqual(JSON.parse(o2.stdout).map((a: { id: string }) => a.id), ['acc_b']);
    });
  });

  describe('audit', () => {
    const ev = (id: string, over: Partial<AuditEvent> = {}): AuditEvent => ({
      id,
      type: 'connect.rejected',
      time: now,
      account: 'acc_a',
      actor: { kind: 'device', id: 'sensor-1' },
      outcome: 'rejected',
      reason: 'CERT_REVOKED',
      device: { clientId: 'sensor-1' },
      source: 'broker-0',
      ...over,
    });

    it('passes filters and prints a table, oldest first', async () => {
      api.on('GET /api/v1/accounts/acc_a/audit', () => ({ items: [ev('e2', { time: '2026-11-23T10:05:00.000Z', reason: 'CHAIN_UNTRUSTED' }), ev('e1')], nextCursor: null }));
      const o = io(env);
      assert.equal(await audit(['--type', 'connect.rejected', '--since', '2026-11-23T09:00:00Z', '--limit', '10'], o), 0, o.stderr);
      const q = api.seen.find((r) => r.path.endsWith('/audit'))!.query;
      assert.deepEqual({ type: q.type, from: q.from, limit: q.limit }, { type: 'connect.rejected', from: '2026-11-23T09:00:00.000Z', limit: '10' });
      const lines = o.stdout.trim().split('\n');
      assert.match(lines[1]!, /^2026-11-23 10:00:00Z\s+connect\.rejected\s+rejected\s+CERT_REVOKED\s+sensor-1$/);
      assert.match(lines[2]!, /CHAIN_UNTRUSTED/);
    });

    it('names the token that made a change, with the device it concerns, as the console does', async () => {
      const added = ev('e3', { type: 'credential.added', outcome: undefined, reason: undefined, actor: { kind: 'token', id: 'tok_1', name: 'ops-admin', accountId: 'acc_a' }, device: { username: 'sensor-17' } });
      api.on('GET /api/v1/accounts/acc_a/audit', () => ({ items: [added, ev('e1')], nextCursor: null }));
      const o = io(env);
      assert.equal(await audit([], o), 0, o.stderr);
      // A connect's actor is its device; a change's, the token that made it.
      assert.match(o.stdout, /connect\.rejected\s+rejected\s+CERT_REVOKED\s+sensor-1$/m);
      assert.match(o.stdout, /credential\.added\s+-\s+-\s+ops-admin \(for sensor-17\)$/m);
    });

    it('searches by device, with sub-accounts, and explains the reason', async () => {
      api.on('GET /api/v1/accounts/acc_a/audit', () => ({ items: [ev('e1', { device: { clientId: 'sensor-17' }, reason: 'ANCHOR_SUSPENDED', detail: { fallbackRefused: true } })], nextCursor: null }));
      const o = io(env);
      assert.equal(await audit(['--client-id', 'sensor-17', '--username', 'sensor-17', '--certificate', 'AB:CD', '--subtree', '--explain'], o), 0, o.stderr);
      const q = api.seen.find((r) => r.path.endsWith('/audit'))!.query;
      assert.deepEqual({ clientId: q.clientId, username: q.username, certificate: q.certificate, subtree: q.subtree }, { clientId: 'sensor-17', username: 'sensor-17', certificate: 'AB:CD', subtree: 'true' });
      assert.match(o.stdout, /ANCHOR_SUSPENDED\s+sensor-17\s+The CA the device’s certificate chains to is suspended\. The device came without a trusted certificate.*Set the CA VALID again/);
      assert.match(o.stderr, /twoway decide --chain FILE/);
    });

    it('exports CSV as the API renders it', async () => {
      api.on('GET /api/v1/accounts/acc_a/audit', (req, reply) => reply.type('text/csv').send(`id,type\ne1,${(req.query as { format: string }).format}\n`));
      const o = io(env);
      assert.equal(await audit(['--format', 'csv'], o), 0, o.stderr);
      assert.equal(o.stdout, 'id,type\ne1,csv\n');
    });

    it('export streams every match with the same filters, to stdout or to a file (mode 0600, complete or not at all)', async () => {
      const body = `${JSON.stringify(ev('e2'))}\n${JSON.stringify(ev('e1'))}\n`;
      api.on('GET /api/v1/accounts/acc_a/audit', (req, reply) => reply.type('application/x-ndjson').send((req.query as { format: string }).format === 'ndjson' ? body : 'wrong format'));
      const o = io(env);
      assert.equal(await audit(['export', '--client-id', 'sensor-17', '--username', 'u', '--certificate', 'AB:CD', '--subtree', '--type', 'connect.*', '--since', '2026-11-23T09:00:00Z'], o), 0, o.stderr);
      assert.equal(o.stdout, body);
      const q = api.seen.find((r) => r.path.endsWith('/audit'))!.query;
      assert.deepEqual({ ...q }, { format: 'ndjson', clientId: 'sensor-17', username: 'u', certificate: 'AB:CD', subtree: 'true', type: 'connect.*', from: '2026-11-23T09:00:00.000Z' });

      const file = join(dir, 'audit.ndjson');
      const f = io(env);
      assert.equal(await audit(['export', '-o', file], f), 0, f.stderr);
      assert.equal(readFileSync(file, 'utf8'), body);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(f.stderr, `wrote 2 events to ${file}\n`);
      const again = io(env);
      assert.equal(await audit(['export', '-o', file], again), 2);
      assert.match(again.stderr, /exists: pass --force to replace it/);
      assert.equal(await audit(['export', '-o', file, '--force', '--format', 'csv'], io(env)), 0);
      assert.equal(api.seen.filter((r) => r.path.endsWith('/audit')).at(-1)!.query.format, 'csv');
    });

    it('export cut short by the server leaves no file behind', async () => {
      api.on('GET /api/v1/accounts/acc_a/audit', (_req, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' });
        reply.raw.write(`${JSON.stringify(ev('e1'))}\n`, () => reply.raw.socket?.destroy());
      });
      const file = join(dir, 'cut.ndjson');
      const o = io(env);
      assert.equal(await audit(['export', '-o', file], o), 1);
      assert.match(o.stderr, new RegExp(`the export was cut short, nothing written to ${file}`));
      assert.equal(existsSync(file), false);
      assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.partial')), []);
    });

    it('--follow prints events from the SSE stream until stopped', async () => {
      api.on('GET /api/v1/accounts/acc_a/audit', () => ({ items: [ev('e1')], nextCursor: null }));
      const opened = new Promise<FastifyReply['raw']>((resolve) =>
        api.on('GET /api/v1/accounts/acc_a/audit/stream', (_req, reply) => {
          reply.hijack();
          reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
          reply.raw.write(': hello\n\n');
          resolve(reply.raw);
        }),
      );
      const o = io(env);
      const done = audit(['--follow', '--json'], o);
      const stream = await opened;
      stream.write(`id: e1\ndata: ${JSON.stringify(ev('e1'))}\n\n`); // already printed: not twice
      stream.write(`id: e3\ndata: ${JSON.stringify(ev('e3', { type: 'session.ended', outcome: 'ended', reason: 'CERT_REVOKED' }))}\n\n`);
      await waitFor(() => o.stdout.includes('"e3"'), { what: 'e3 printed' });
      o.ctrl.abort();
      assert.equal(await done, 0);
      assert.deepEqual(o.stdout.trim().split('\n').map((l) => (JSON.parse(l) as AuditEvent).id), ['e1', 'e3']);
      stream.end();
    });
  });

  it('--help works on every command and subcommand', async () => {
    const groups = { certs, accounts, settings, credentials, tokens, 'topic-rules': topicRules } as const;
    const subs: Record<keyof typeof groups, string[]> = {
      certs: ['add', 'ls', 'show', 'suspend', 'revoke', 'restore', 'rm'],
      accounts: ['create', 'show', 'children'],
      settings: ['get', 'set'],
      credentials: ['add', 'ls', 'update', 'disable', 'enable', 'rm'],
      tokens: ['create', 'ls', 'revoke'],
      'topic-rules': ['ls', 'add', 'rm', 'set', 'clear'],
    };
    for (const [name, main] of Object.entries(groups)) {
      const o = io({});
      assert.equal(await main(['--help'], o), 0, name);
      assert.match(o.stdout, new RegExp(`usage: twoway ${name} <subcommand>`));
      for (const sub of subs[name as keyof typeof groups]) {
        const s = io({});
        assert.equal(await main([sub, '--help'], s), 0, `${name} ${sub}`);
        assert.match(s.stdout, new RegExp(`usage: twoway ${name} ${sub}`));
        assert.match(s.stdout, /--token TOKEN/);
      }
    }
    const a = io({});
    assert.equal(await audit(['--help'], a), 0);
    assert.match(a.stdout, /usage: twoway audit \[options\][\s\S]*--follow[\s\S]*'twoway audit export --help'/);
    const x = io({});
    assert.equal(await audit(['export', '--help'], x), 0);
    assert.match(x.stdout, /usage: twoway audit export \[options\][\s\S]*--client-id ID[\s\S]*--subtree[\s\S]*--output FILE/);
    assert.equal(api.seen.length, 0, 'help needs no server');
  });
});
