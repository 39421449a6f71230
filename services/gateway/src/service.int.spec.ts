import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogger } from '@twoway/telemetry';
import { freePort } from '@twoway/testing';
import { loadConfig } from '@twoway/config';
import { ApiTags } from '@twoway/contracts';
import { gatewaySchema } from './config.js';
import { Gateway } from './service.js';
import { renderApiReference } from './http/api-reference.js';

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

  it('merges the services\' OpenAPI paths into one document, with the API\'s groups and security', async () => {
    const d = (await (await fetch(`${gw.httpUrl}/api/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown>; tags: { name: string }[]; security: unknown };
    assert.equal(d.openapi, '3.0.3');
    assert.deepEqual(Object.keys(d.paths).sort(), ['/api/v1/account-settings', '/api/v1/cert-registry']);
    assert.deepEqual(d.tags.map((t) => t.name), ApiTags.map((t) => t.name));
    assert.deepEqual(d.security, [{ bearer: [] }]);
  });

  it('renders a readable API reference from the same document: grouped, self-contained, escaping what it shows', async () => {
    const r = await fetch(`${gw.httpUrl}/api/v1/docs`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    assert.match(r.headers.get('content-security-policy') ?? '', /^default-src 'none'; style-src 'unsafe-inline'/);
    const html = await r.text();
    assert.match(html, /<span class="m get">GET<\/span> <code>\/api\/v1\/account-settings<\/code>/);
    assert.match(html, /<span class="m get">GET<\/span> <code>\/api\/v1\/cert-registry<\/code>/);
    assert.doesNotMatch(html, /<script|<link|src=|https?:\/\//, 'nothing loaded from elsewhere, no script');
    const hostile = renderApiReference({ paths: { '/x': { get: { summary: '<script>alert(1)</script>', description: '`<img src=x>`' } } } });
    assert.equal(hostile.includes('<script>'), false);
    assert.equal(hostile.includes('<img'), false);
    assert.match(hostile, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });

  it('renders an operation: its group, summary, parameters, body and response fields, examples and error codes', () => {
    const html = renderApiReference({
      tags: [{ name: 'Things', description: 'All the **things**.' }],
      paths: {
        '/api/v1/things/{id}': {
          put: {
            operationId: 'putThing',
            summary: 'Replace a thing',
            description: 'Replaces `it`.',
            tags: ['Things'],
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } }],
            requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', description: 'What to call it.' }, tags: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' } } } } } }, example: { name: 'x' } } } },
            responses: {
              '200': { description: 'Replaced.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
              '404': { description: '', content: { 'application/json': { examples: { THING_NOT_FOUND: { summary: 'No such thing.', value: {} } } } } },
            },
          },
        },
      },
      components: { schemas: { Thing: { type: 'object', properties: { status: { enum: ['ON', 'OFF'], type: 'string', nullable: true } } } } },
    });
    assert.match(html, /<section class="tag" id="tag-Things"><h2>Things<\/h2><p>All the <strong>things<\/strong>\.<\/p>/);
    assert.match(html, /<a href="#putThing"><span class="m put">PUT<\/span> Replace a thing<\/a>/);
    assert.match(html, /<p>Replaces <code>it<\/code>\.<\/p>/);
    assert.match(html, /<td><code>id<\/code><\/td><td>path<\/td><td>string<\/td><td>yes<\/td><td>max length 64<\/td>/);
    assert.match(html, /<code>name<\/code><\/td><td>string<\/td><td>yes<\/td><td>What to call it\.<\/td>/);
    assert.match(html, /padding-left:1.6rem"><code>key<\/code>/, 'nested fields are indented under their parent');
    assert.match(html, /<code>status<\/code><\/td><td>&quot;ON&quot; \| &quot;OFF&quot; or null<\/td>/, 'a $ref is resolved');
    assert.match(html, /&quot;name&quot;: &quot;x&quot;/);
    assert.match(html, /<td>404<\/td><td><code>THING_NOT_FOUND<\/code><\/td><td>No such thing\.<\/td>/);
  });
});
