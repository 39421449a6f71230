// REST requests as a service's /metrics shows them: by method, route pattern and status; probes and
// documents not counted; a server told not to (the gateway) serves no /metrics at all.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceMetrics, createLogger } from '@twoway/telemetry';
import { createHttpServer } from './server.js';

const options = (metrics: ServiceMetrics) => ({ logger: createLogger('t', 'silent'), readiness: () => ({ ready: true, checks: {} }), metrics });

it('counts API requests by route pattern and status, times them, and serves /metrics as Prometheus text', async (t) => {
  const metrics = new ServiceMetrics('unit');
  t.after(() => metrics.stop());
  const app = await createHttpServer(options(metrics));
  t.after(() => app.close());
  app.get('/api/v1/accounts/:id/things', async (req, reply) => ((req.params as { id: string }).id === 'acc-b' ? reply.status(403).send({}) : {}));
  for (const id of ['acc-a', 'acc-a', 'acc-b']) await app.inject({ method: 'GET', url: `/api/v1/accounts/${id}/things` });
  await app.inject({ method: 'GET', url: '/healthz' });
  await app.inject({ method: 'GET', url: '/openapi.json' });

  const r = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const lines = r.body.split('\n').filter((l) => l.startsWith('twoway_http_'));
  assert.deepEqual(lines.filter((l) => l.startsWith('twoway_http_requests_total')), [
    'twoway_http_requests_total{method="GET",route="/api/v1/accounts/:id/things",status="200"} 2',
    'twoway_http_requests_total{method="GET",route="/api/v1/accounts/:id/things",status="403"} 1',
  ]);
  assert.ok(lines.includes('twoway_http_request_duration_ms_count{method="GET",route="/api/v1/accounts/:id/things"} 3'), lines.join('\n'));
  // The route is its pattern: no account id (nor any path parameter) becomes a label.
  assert.doesNotMatch(r.body, /acc-a|acc-b/);
});

it('metricsRoute: false serves no /metrics (the gateway serves them on a port of their own)', async (t) => {
  const metrics = new ServiceMetrics('unit');
  t.after(() => metrics.stop());
  const app = await createHttpServer({ ...options(metrics), metricsRoute: false });
  t.after(() => app.close());
  assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
});
