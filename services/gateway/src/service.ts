// The gateway: one HTTP origin for the REST API (proxied by path to the owning service) and the
// web console (static files). It holds no state and no secrets; authentication happens in each service.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { createHttpServer, startMetricsListener, type Readiness } from '@twoway/http';
import { errorBody, ownerOf, ApiPrefix, type ServiceName } from '@twoway/contracts';
import { ServiceMetrics, type Logger, type Telemetry } from '@twoway/telemetry';
import type { GatewayConfig } from './config.js';
import { proxy } from './http/proxy.js';
import { registerOpenApi } from './http/openapi.js';
import { registerApiReference } from './http/api-reference.js';
import { registerConnectionInfo } from './http/connection-info.js';

/** Content-Security-Policy of the console: same-origin only (no CDNs: the console works offline). */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export class Gateway {
  private stopping?: Promise<void>;
  private constructor(
    private readonly app: FastifyInstance,
    readonly httpUrl: string,
    readonly metrics: ServiceMetrics,
    private readonly metricsListener: { url: string; stop(): Promise<void> } | undefined,
  ) {}

  /** Where /metrics is served (TWOWAY_METRICS_PORT); undefined when it is not. */
  get metricsUrl(): string | undefined {
    return this.metricsListener && `${this.metricsListener.url}/metrics`;
  }

  static async start(cfg: GatewayConfig, deps: { log: Logger; telemetry?: Telemetry }): Promise<Gateway> {
    const upstreams: Record<Exclude<ServiceName, 'broker' | 'gateway'>, URL> = {
      'account-settings': new URL(cfg.accountSettingsUrl),
      'cert-registry': new URL(cfg.certRegistryUrl),
      audit: new URL(cfg.auditUrl),
    };
    const readiness = async (): Promise<Readiness> => {
      const checks: Record<string, boolean | string> = {};
      await Promise.all(
        Object.entries(upstreams).map(async ([name, url]) => {
          try {
            const r = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2000) });
            checks[name] = r.ok;
          } catch {
            checks[name] = false;
          }
        }),
      );
      return { ready: Object.values(checks).every((v) => v === true), checks };
    };
    const metrics = new ServiceMetrics('gateway', { telemetry: deps.telemetry, log: deps.log });
    const app = await createHttpServer({ logger: deps.log, readiness, service: 'gateway', metrics, metricsRoute: false });
    app.addHook('onSend', async (_req, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    });

    // The routes the gateway answers itself; each documents itself in its schema (libs/http), and the
    // merged document at /api/v1/openapi.json takes them from there.
    registerOpenApi(app, Object.values(upstreams));
    registerApiReference(app);
    registerConnectionInfo(app, cfg, { log: deps.log, accountSettings: upstreams['account-settings'] });

    // Every other /api/v1 route goes to its owner untouched, body and all.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const forward = (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      const owner = ownerOf(req.url.split('?')[0]!) as keyof typeof upstreams | undefined;
      const target = owner ? upstreams[owner] : undefined;
      if (!target) {
        void reply.status(404).send(errorBody('NOT_FOUND', 'no such route'));
        return;
      }
      reply.hijack();
      proxy(req.raw, reply.raw, target, cfg.upstreamTimeoutMs, (e) => deps.log.warn({ err: e, owner }, 'upstream request failed'));
    };
    // Not operations of the gateway: each forwarded route is documented by its owner.
    app.all(`${ApiPrefix}/*`, { schema: { hide: true } }, forward);
    app.all(ApiPrefix, { schema: { hide: true } }, forward);

    const consoleDir = resolve(cfg.consoleDir);
    if (existsSync(consoleDir)) {
      await app.register(fastifyStatic, {
        root: consoleDir,
        index: 'index.html',
        setHeaders: (res) => {
          res.setHeader('content-security-policy', CSP);
          res.setHeader('x-frame-options', 'DENY');
        },
      });
    } else {
      deps.log.warn({ consoleDir }, 'console not built: / will answer 404 (run `npm run build -w @twoway/console`)');
    }

    const address = await app.listen({ port: cfg.httpPort, host: cfg.httpHost });
    const metricsListener = cfg.metricsPort === undefined
      ? undefined
      : await startMetricsListener({ host: cfg.httpHost, port: cfg.metricsPort, metrics, log: deps.log }).catch(async (e: unknown) => {
          await app.close();
          await metrics.stop();
          throw e;
        });
    return new Gateway(app, address, metrics, metricsListener);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.app.close();
      await this.metricsListener?.stop();
      await this.metrics.stop();
    })();
    return this.stopping;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
