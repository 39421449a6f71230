// Tenant isolation over every route of the public API, through the gateway, with the real
// services: the route list comes from the OpenAPI document the services generate from their
// routes, so a route added without a row here fails this test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { System, makeTestPki } from '@twoway/testing';
import { Operator } from './support/operator.js';

type Ids = { account: string; cert: string; cred: string; token: string };
interface Row {
  /** `METHOD /api/v1/...{param}` exactly as in the OpenAPI document. */
  op: string;
  write: 'read' | 'write' | 'certificates.write';
  body?: (ids: Ids) => unknown;
}

const ROWS: Row[] = [
  { op: 'post /api/v1/accounts', write: 'write', body: (x) => ({ name: `intruder-${Math.random()}`, parentId: x.account }) },
  { op: 'get /api/v1/accounts/{id}', write: 'read' },
  { op: 'get /api/v1/accounts/{id}/children', write: 'read' },
  { op: 'get /api/v1/accounts/{id}/settings', write: 'read' },
  { op: 'put /api/v1/accounts/{id}/settings', write: 'write', body: () => ({ tls: { enabled: true } }) },
  { op: 'get /api/v1/accounts/{id}/topic-rules', write: 'read' },
  { op: 'put /api/v1/accounts/{id}/topic-rules', write: 'write', body: () => ({ rules: [{ effect: 'allow', action: 'both', filter: 'intruder/#' }] }) },
  { op: 'post /api/v1/accounts/{id}/credentials', write: 'write', body: () => ({ username: `intruder-${Math.random()}`, password: 'intruder-password' }) },
  { op: 'get /api/v1/accounts/{id}/credentials', write: 'read' },
  { op: 'patch /api/v1/accounts/{id}/credentials/{credId}', write: 'write', body: () => ({ enabled: false }) },
  { op: 'delete /api/v1/accounts/{id}/credentials/{credId}', write: 'write' },
  { op: 'post /api/v1/accounts/{id}/tokens', write: 'write', body: () => ({ name: 'intruder', role: 'admin' }) },
  { op: 'get /api/v1/accounts/{id}/tokens', write: 'read' },
  { op: 'delete /api/v1/accounts/{id}/tokens/{tokenId}', write: 'write' },
  { op: 'post /api/v1/accounts/{id}/certificates', write: 'certificates.write', body: () => ({ name: 'intruder', usage: 'MUTUAL_AUTHENTICATION', certificate: INTRUDER_PEM }) },
  { op: 'get /api/v1/accounts/{id}/certificates', write: 'read' },
  { op: 'get /api/v1/accounts/{id}/certificates/{certId}', write: 'read' },
  { op: 'get /api/v1/accounts/{id}/certificates/{certId}/sessions', write: 'read' },
  { op: 'patch /api/v1/accounts/{id}/certificates/{certId}', write: 'certificates.write', body: () => ({ status: 'REVOKED' }) },
  { op: 'delete /api/v1/accounts/{id}/certificates/{certId}', write: 'certificates.write' },
  { op: 'get /api/v1/accounts/{id}/certificates/{certId}/crl', write: 'read' },
  { op: 'put /api/v1/accounts/{id}/certificates/{certId}/crl', write: 'certificates.write', body: () => ({ crl: '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }) },
  { op: 'delete /api/v1/accounts/{id}/certificates/{certId}/crl', write: 'certificates.write' },
  { op: 'put /api/v1/accounts/{id}/certificates/{certId}/crl/distribution-point', write: 'write', body: () => ({ url: null }) },
  { op: 'post /api/v1/accounts/{id}/certificates/{certId}/crl/fetch', write: 'certificates.write' },
  { op: 'get /api/v1/accounts/{id}/certificates/{certId}/revoked-serials', write: 'read' },
  { op: 'post /api/v1/accounts/{id}/certificates/{certId}/revoked-serials', write: 'certificates.write', body: () => ({ serial: '4A:1B' }) },
  { op: 'delete /api/v1/accounts/{id}/certificates/{certId}/revoked-serials/{serial}', write: 'certificates.write' },
  // A dry run changes nothing (any role), but runs B's decision on B's registry and credentials: A's token gets 404.
  { op: 'post /api/v1/accounts/{id}/dry-run', write: 'read', body: () => ({ chain: INTRUDER_PEM, clientId: 'tenant-b-dev', username: 'tenant-b-dev', password: 'tenant-password-1' }) },
  { op: 'get /api/v1/accounts/{id}/audit', write: 'read' },
  { op: 'get /api/v1/accounts/{id}/audit/stream', write: 'read' },
];
/**
 * Not account-scoped (checked separately below): whoami answers about the caller only, connection-info
 * is the same for every account; the API document and its reference need no token at all.
 */
const UNSCOPED = new Set(['get /api/v1/whoami', 'get /api/v1/connection-info']);
const PUBLIC = new Set(['get /api/v1/openapi.json', 'get /api/v1/docs']);
let INTRUDER_PEM = '';

describe('tenant isolation on every API route', { timeout: 240_000 }, () => {
  let sys: System;
  let a: Ids & { admin: string; operator: string; provisioner: string; expired: string };
  let b: Ids & { admin: string };

  before(async () => {
    sys = await System.start();
    const op = new Operator(sys);
    const pki = await makeTestPki({ fresh: true });
    INTRUDER_PEM = (await makeTestPki({ fresh: true })).root.certPem;
    const tenant = async (name: string) => {
      const account = await op.account(name);
      const admin = (await sys.api<{ id: string; token: string }>('POST', `/api/v1/accounts/${account}/tokens`, { name: 'admin', role: 'admin' })).body;
      const cert = await op.register(account, 'root', pki.root.certPem);
      const cred = await op.credential(account, `${name}-dev`, 'tenant-password-1');
      return { account, cert: cert.id, cred: cred.id, token: admin.id, admin: admin.token };
    };
    const ta = await tenant('tenant-a');
    b = await tenant('tenant-b');
    const mk = async (role: string, expiresAt?: string) =>
      (await sys.api<{ token: string }>('POST', `/api/v1/accounts/${ta.account}/tokens`, { name: role, role, ...(expiresAt ? { expiresAt } : {}) }, ta.admin)).body.token;
    const soon = new Date(Date.now() + 1500).toISOString();
    a = { ...ta, operator: await mk('operator'), provisioner: await mk('provisioner'), expired: await mk('admin', soon) };
    // The token expires by the clock alone, so time is the condition. It is not polled with the token
    // either: a verification made before expiry is reused for TOKEN_FRESH_MS (libs/http), and the
    // matrix below is about a token no service has seen valid.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(soon) - Date.now() + 100)));
  });
  after(async () => {
    await sys?.stop();
  });

  const pathFor = (op: string, x: Ids) =>
    op.split(' ')[1]!.replace('{id}', x.account).replace('{certId}', x.cert).replace('{credId}', x.cred).replace('{tokenId}', x.token).replace('{serial}', '4a1b');
  const call = async (row: Row, x: Ids, token: string | undefined) => {
    const method = row.op.split(' ')[0]!.toUpperCase();
    const r = await fetch(sys.apiUrl + pathFor(row.op, x), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(row.body ? { 'content-type': 'application/json' } : {}), accept: 'application/json' },
      body: row.body ? JSON.stringify(row.body(x)) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const text = r.headers.get('content-type')?.includes('event-stream') ? '' : await r.text();
    if (r.headers.get('content-type')?.includes('event-stream')) await r.body?.cancel();
    return { status: r.status, text };
  };

  it('every route of the API document has a row in this matrix', async () => {
    const doc = (await (await fetch(`${sys.apiUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const ops = Object.entries(doc.paths).flatMap(([p, m]) => Object.keys(m).map((k) => `${k} ${p}`));
    const missing = ops.filter((o) => !UNSCOPED.has(o) && !PUBLIC.has(o) && !ROWS.some((r) => r.op === o));
    assert.deepEqual(missing, [], 'routes without a tenant-isolation row');
    const stale = ROWS.filter((r) => !ops.includes(r.op)).map((r) => r.op);
    assert.deepEqual(stale, [], 'rows for routes that no longer exist');
  });

  it("a token of account A gets 404 on B's ids and learns nothing of B", async () => {
    for (const row of ROWS) {
      const r = await call(row, b, a.admin);
      assert.ok([403, 404].includes(r.status), `${row.op} → ${r.status} ${r.text}`);
      for (const secret of [b.cert, b.cred, b.token, 'tenant-b']) assert.equal(r.text.includes(secret), false, `${row.op} leaks ${secret}`);
    }
    // B is untouched
    const certs = await sys.api<{ items: { status: string }[] }>('GET', `/api/v1/accounts/${b.account}/certificates`, undefined, b.admin);
    assert.deepEqual(certs.body.items.map((c) => c.status), ['VALID']);
    const creds = await sys.api<{ items: { enabled: boolean }[] }>('GET', `/api/v1/accounts/${b.account}/credentials`, undefined, b.admin);
    assert.deepEqual(creds.body.items.map((c) => c.enabled), [true]);
    const rules = await sys.api<{ rules: unknown[] }>('GET', `/api/v1/accounts/${b.account}/topic-rules`, undefined, b.admin);
    assert.deepEqual(rules.body.rules, []);
  });

  it('a missing, forged or expired token gets 401 on every route', async () => {
    for (const row of ROWS) {
      for (const token of [undefined, `${a.admin.slice(0, -3)}xyz`, a.expired]) {
        const r = await call(row, a, token);
        assert.equal(r.status, 401, `${row.op} with ${token === undefined ? 'no' : token === a.expired ? 'an expired' : 'a forged'} token → ${r.status} ${r.text}`);
      }
    }
  });

  it('a read-only operator reads but cannot write; a provisioner writes certificates only', async () => {
    for (const row of ROWS) {
      const op = await call(row, a, a.operator);
      if (row.write === 'read') assert.equal(op.status, 200, `operator ${row.op} → ${op.status} ${op.text}`);
      else assert.equal(op.status, 403, `operator ${row.op} → ${op.status} ${op.text}`);
      if (row.write === 'write') {
        const pv = await call(row, a, a.provisioner);
        assert.equal(pv.status, 403, `provisioner ${row.op} → ${pv.status} ${pv.text}`);
      }
    }
    const me = await sys.api<{ principal: { role: string; accountId: string } }>('GET', '/api/v1/whoami', undefined, a.provisioner);
    assert.deepEqual([me.body.principal.role, me.body.principal.accountId], ['provisioner', a.account]);
  });

  it('connection info takes any valid token of any role and tells nothing of an account; the document and reference take none', async () => {
    const info = async (token?: string) => {
      const r = await fetch(`${sys.apiUrl}/api/v1/connection-info`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: r.status, text: await r.text() };
    };
    for (const token of [undefined, `${a.admin.slice(0, -3)}xyz`, a.expired]) assert.equal((await info(token)).status, 401);
    const seen = await Promise.all([a.admin, a.operator, a.provisioner, b.admin].map(info));
    assert.deepEqual(seen.map((r) => r.status), [200, 200, 200, 200]);
    assert.equal(new Set(seen.map((r) => r.text)).size, 1, 'the same answer for every token');
    for (const secret of [a.account, b.account, 'tenant-a', 'tenant-b']) assert.equal(seen[0]!.text.includes(secret), false, `mentions ${secret}`);
    for (const op of PUBLIC) assert.equal((await fetch(sys.apiUrl + op.split(' ')[1]!)).status, 200, op);
  });
});
