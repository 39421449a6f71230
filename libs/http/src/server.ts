// A service's HTTP server: fastify with the shared error map, /healthz, /readyz, /metrics and a body limit.
import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '@twoway/telemetry';
import { errorBody } from '@twoway/contracts';
import { errorHandler } from './errors.js';
import { countApiRequests, metricsRoute } from './metrics.js';
import { collectRoutes, openApiDocument } from './openapi.js';
import { traceApiRoutes } from './tracing.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | string>;
}

export interface HttpOptions {
  logger: Logger;
  /** Service name, for the OpenAPI document's tags. */
  service?: string;
  /** Called by /readyz; should be cheap (cached states, not probes). */
  readiness: () => Readiness | Promise<Readiness>;
  bodyLimitBytes?: number;
  /** The service's metrics: its API requests are counted there, and served at /metrics. */
  metrics?: ServiceMetrics;
  /** false: no /metrics on this server (the gateway's port is public; it serves them on TWOWAY_METRICS_PORT). */
  metricsRoute?: boolean;
}

export async function createHttpServer(o: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.logger as unknown as FastifyBaseLogger,
    // Per-request access lines are off: decisions and errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimitBytes ?? 256 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    return503OnClosing: true,
  });
  traceApiRoutes(app);
  if (o.metrics) countApiRequests(app, o.metrics);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_req, reply) => {
    void reply.status(404).send(errorBody('NOT_FOUND', 'no such route'));
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const routes = collectRoutes(app);
  // Each service's part of the API document; the gateway merges them at /api/v1/openapi.json.
  app.decorate('apiDocument', () => openApiDocument(o.service ?? 'twoway', routes));
  app.get('/openapi.json', async () => app.apiDocument());
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = closing ? { ready: false, checks: { closing: true } } : await o.readiness();
    return reply.status(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
  });
  if (o.metrics && o.metricsRoute !== false) metricsRoute(app, o.metrics);
  return app;
}
