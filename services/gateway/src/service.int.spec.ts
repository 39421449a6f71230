import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogger } from '@twoway/telemetry';
import { freePort } from '@twoway/testing';
import { loadConfig } from '@twoway/config';
import { ApiTags } from '@twoway/contracts';
import { gatewaySchema } from './config.js';
import { Gateway } from './service.js';

async function fakeService(name: string): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  app.get('/readyz', async () => ({ status: 'ready' }));
  app.all('/api/v1/*', async (req) => ({ service: name, method: req.method, url: req.url, body: req.body ?? null, auth: req.headers.authorization ?? null }));
  app.get('/api/v1/accounts/:id/audit/stream', (req, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.write('data: {"n":1}\n\n');
    req.raw.on('close', () => reply.raw.end());
  });
  app.get('/openapi.json', async () => ({ paths: { [`/api/v1/${name}`]: { get: {} } } }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

describe('gateway', () => {
  let gw: Gateway;
  const fakes: FastifyInstance[] = [];
  let downPort: number;
  before(async () => {
    const as = await fakeService('account-settings');
    const cr = await fakeService('cert-registry');
    fakes.push(as.app, cr.app);
    downPort = await freePort();
    const cfg = loadConfig(gatewaySchema, {
      TWOWAY_HTTP_PORT: '0',
      TWOWAY_METRICS_PORT: '0',
      TWOWAY_ACCOUNT_SETTINGS_URL: as.url,
      TWOWAY_CERT_REGISTRY_URL: cr.url,
      TWOWAY_AUDIT_URL: `http://127.0.0.1:${downPort}`,
      TWOWAY_CONSOLE_DIR: '/nonexistent',
      TWOWAY_LOG_LEVEL: 'silent',
    });
    gw = await Gateway.start(cfg, { log: createLogger('gateway', 'silent') });
  });
  after(async () => {
    await gw?.stop();
    await Promise.all(fakes.map((f) => f.close()));
  });

  it('sends each path to its owner with body, query and authorization intact', async () => {
    const r = await fetch(`${gw.httpUrl}/api/v1/accounts/a1/certificates?status=VALID`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
      body: JSON.stringify({ name: 'x' }),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { service: 'cert-registry', method: 'POST', url: '/api/v1/accounts/a1/certificates?status=VALID', body: { name: 'x' }, auth: 'Bearer t' });
    const s = await (await fetch(`${gw.httpUrl}/api/v1/accounts/a1/settings`)).json();
    assert.equal((s as { service: string }).service, 'account-settings');
    const w = await (await fetch(`${gw.httpUrl}/api/v1/whoami`)).json();
    assert.equal((w as { service: string }).service, 'account-settings');
  });

  it('answers 503 UNAVAILABLE with the error body when the owner is down, and 404 for unknown routes', async () => {
    const r = await fetch(`${gw.httpUrl}/api/v1/accounts/a1/audit`);
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'UNAVAILABLE');
    const n = await fetch(`${gw.httpUrl}/api/v1/nothing-here`);
    assert.equal(n.status, 404);
    assert.equal(((await n.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  });

  it('serves /metrics on TWOWAY_METRICS_PORT only, counting proxied requests by route pattern and status', async () => {
    const publicMetrics = await fetch(`${gw.httpUrl}/metrics`);
    assert.equal(publicMetrics.status, 404, 'not on the public origin');
    assert.doesNotMatch(await publicMetrics.text(), /twoway_/);
    assert.ok(gw.metricsUrl);
    const scrape = async () => {
      const r = await fetch(gw.metricsUrl!);
      assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      return r.text();
    };
    const figure = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
    const down = 'twoway_http_requests_total{method="GET",route="/api/v1/*",status="503"}';
    const ok = 'twoway_http_requests_total{method="GET",route="/api/v1/*",status="200"}';
    const before = await scrape();
    assert.equal((await fetch(`${gw.httpUrl}/api/v1/accounts/a1/audit`)).status, 503);
    assert.equal((await fetch(`${gw.httpUrl}/api/v1/accounts/a1/settings`)).status, 200);
    const after = await scrape();
    assert.deepEqual([figure(after, down) - figure(before, down), figure(after, ok) - figure(before, ok)], [1, 1]);
    assert.doesNotMatch(after, /accounts\/a1/, 'the route is the pattern, not the path');
  });

  it('is not ready while an owner is down, and says which', async () => {
    const r = await fetch(`${gw.httpUrl}/readyz`);
    assert.equal(r.status, 503);
    const b = (await r.json()) as { checks: Record<string, boolean> };
    assert.deepEqual(b.checks, { 'account-settings': true, 'cert-registry': true, audit: false });
    assert.equal((await fetch(`${gw.httpUrl}/healthz`)).status, 200);
  });

  it('merges the services\' OpenAPI paths and the gateway\'s own routes into one document, with the API\'s groups and security', async () => {
    type Op = { operationId?: string; summary?: string; tags?: string[]; security?: unknown[]; responses: Record<string, unknown> };
    const d = (await (await fetch(`${gw.httpUrl}/api/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, Op>>; tags: { name: string }[]; security: unknown };
    assert.equal(d.openapi, '3.0.3');
    // Every route the gateway answers itself is there; its forwarding to the owners is not an operation.
    assert.deepEqual(Object.keys(d.paths).sort(), ['/api/v1/account-settings', '/api/v1/cert-registry', '/api/v1/connection-info', '/api/v1/docs', '/api/v1/openapi.json']);
    const own = (path: string) => d.paths[path]!.get!;
    assert.deepEqual(
      ['/api/v1/connection-info', '/api/v1/openapi.json', '/api/v1/docs'].map((p) => [own(p).operationId, own(p).tags]),
      [['getConnectionInfo', ['Connection']], ['getOpenApiDocument', ['Reference']], ['getApiReference', ['Reference']]],
    );
    for (const p of ['/api/v1/connection-info', '/api/v1/openapi.json', '/api/v1/docs']) assert.ok(own(p).summary, `${p} has a summary`);
    // The document and the reference need no token; connection info does.
    assert.deepEqual(own('/api/v1/openapi.json').security, []);
    assert.equal('401' in own('/api/v1/openapi.json').responses, false);
    assert.equal(own('/api/v1/connection-info').security, undefined);
    assert.ok('401' in own('/api/v1/connection-info').responses);
    assert.deepEqual(d.tags.map((t) => t.name), ApiTags.map((t) => t.name));
    assert.deepEqual(d.security, [{ bearer: [] }]);
  });

  it('serves the API reference page and the library files it loads from itself, under a policy that allows nothing else', async () => {
    const r = await fetch(`${gw.httpUrl}/api/v1/docs`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /^default-src 'none'; script-src 'self'; style-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-|https?:|\*/, 'no inline script or style, no other origin');
    const html = await r.text();
    const loads = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(loads, ['data:,', '/api-reference/swagger-ui.css', '/api-reference/reference.css', '/api/v1/openapi.json', '/api-reference/swagger-ui-bundle.js', '/api-reference/start.js']);
    assert.doesNotMatch(html, /<script>|\son\w+=|style=/, 'nothing inline');
    for (const [file, type] of [['swagger-ui-bundle.js', /javascript/], ['swagger-ui.css', /text\/css/], ['start.js', /javascript/], ['reference.css', /text\/css/]] as const) {
      const a = await fetch(`${gw.httpUrl}/api-reference/${file}`);
      assert.equal(a.status, 200, file);
      assert.match(a.headers.get('content-type') ?? '', type, file);
      assert.ok((await a.arrayBuffer()).byteLength > 100, file);
    }
    // Only the listed files of the library: nothing else of the package, no way out of its directory.
    for (const other of ['package.json', 'swagger-ui.js.map', '..%2Fpackage.json', 'index.html']) {
      assert.equal((await fetch(`${gw.httpUrl}/api-reference/${other}`)).status, 404, other);
    }
  });
});
