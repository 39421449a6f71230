// cert-registry's metrics in Prometheus text format, served at /metrics: what became of the dry runs it
// was asked for (docs/limits.md). Read from plain counts when scraped.
import type { FastifyInstance } from 'fastify';
import type { DryRunCounts } from './dry-run-route.js';

export function metricsText(c: DryRunCounts): string {
  const name = 'twoway_cert_registry_dry_runs_total';
  return `${[
    `# HELP ${name} Dry runs of the connect decision asked through this replica, by result (answered, rate_limited: TWOWAY_DRY_RUNS_PER_MINUTE reached, invalid: a chain refused, unavailable: no broker answered)`,
    `# TYPE ${name} counter`,
    `${name}{result="answered"} ${c.answered}`,
    `${name}{result="rate_limited"} ${c.rateLimited}`,
    `${name}{result="invalid"} ${c.invalid}`,
    `${name}{result="unavailable"} ${c.unavailable}`,
  ].join('\n')}\n`;
}

export function registerMetrics(app: FastifyInstance, counts: DryRunCounts): void {
  app.get('/metrics', async (_req, reply) => reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(metricsText(counts)));
}
