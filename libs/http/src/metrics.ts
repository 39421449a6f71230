// A service's metrics over HTTP: its REST requests counted and timed, and the `/metrics` route (the
// service's ServiceMetrics as Prometheus text). Requests are counted as tracing.ts traces them: API
// routes only (`/api/v1/...`), not probes, documents or console files, by route pattern
// (`/api/v1/accounts/:id`), so there are as many series as routes and statuses, never one per account.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { ApiPrefix } from '@twoway/contracts';
import { PROMETHEUS_CONTENT_TYPE, type Counter, type Histogram, type Logger, type ServiceMetrics } from '@twoway/telemetry';

/** Bounds of `twoway_http_request_duration_ms`: a cached read to a slow export or a proxied timeout. */
export const HTTP_DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Register before the routes: every API route is counted by method, route and status, and timed. */
export function countApiRequests(app: FastifyInstance, metrics: ServiceMetrics): void {
  // Made with the first API route: a server without any (the broker's) shows no empty families.
  let made: { requests: Counter; duration: Histogram } | undefined;
  const instruments = () =>
    (made ??= {
      requests: metrics.counter('twoway_http_requests_total', 'REST requests answered, by method, route (its pattern) and status (`aborted`: the client left before a response)'),
      duration: metrics.histogram('twoway_http_request_duration_ms', 'Milliseconds from a REST request to its response (or the client leaving), by method and route', HTTP_DURATION_BUCKETS_MS),
    });
  app.addHook('onRoute', (route: RouteOptions) => {
    if (!route.url.startsWith(ApiPrefix)) return;
    const { requests, duration } = instruments();
    const onRequest = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
      const started = performance.now();
      // 'close' comes after the response is sent, after a hijacked reply (the gateway's proxy) and on abort.
      reply.raw.once('close', () => {
        const res = reply.raw;
        requests.inc({ method: req.method, route: route.url, status: res.headersSent ? String(res.statusCode) : 'aborted' });
        duration.observe(performance.now() - started, { method: req.method, route: route.url });
      });
      done();
    };
    route.onRequest = [onRequest, ...asArray(route.onRequest)] as RouteOptions['onRequest'];
  });
}

/** `GET /metrics` on `app`. */
export function metricsRoute(app: FastifyInstance, metrics: ServiceMetrics): void {
  app.get('/metrics', async (_req, reply) => reply.header('content-type', PROMETHEUS_CONTENT_TYPE).send(await metrics.render()));
}

/**
 * `/metrics` on a listener of its own (TWOWAY_METRICS_PORT), for a service whose HTTP port is public:
 * the gateway's is the one origin behind the Ingress, and its metrics are for the cluster only.
 */
export async function startMetricsListener(o: { host: string; port: number; metrics: ServiceMetrics; log: Logger }): Promise<{ url: string; stop(): Promise<void> }> {
  const app = Fastify({ logger: false });
  metricsRoute(app, o.metrics);
  const url = await app.listen({ host: o.host, port: o.port });
  o.log.info({ url: `${url}/metrics` }, 'metrics listening');
  let stopping: Promise<void> | undefined;
  return { url, stop: () => (stopping ??= app.close()) };
}
