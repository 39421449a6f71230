// Health, readiness and Prometheus metrics on TWOWAY_HTTP_PORT (no API: devices speak MQTT only).
import type { FastifyInstance } from 'fastify';
import { createHttpServer, type Readiness } from '@twoway/http';
import type { Logger } from '@twoway/telemetry';
import type { BrokerMetrics } from './metrics.js';

export async function startHttp(o: { host: string; port: number; log: Logger; metrics: BrokerMetrics; readiness: () => Readiness }): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createHttpServer({ logger: o.log, readiness: o.readiness, metrics: o.metrics.registry });
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address() as { port: number };
  const host = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return { app, url: `http://${host}:${addr.port}` };
}
