// The requests a service answers over NATS, per subject it serves (Bus.serve), for its /metrics:
// read from the Bus's own counts when scraped, so a request pays one increment.
import type { ServiceMetrics } from '@twoway/telemetry';
import type { Bus } from './client.js';

export function busMetrics(metrics: ServiceMetrics, bus: Bus): void {
  const per = (read: (s: ReturnType<Bus['serveStats']>[number]) => number) => () => bus.serveStats().map((s) => ({ labels: { subject: s.subject }, value: read(s) }));
  metrics.view('twoway_nats_requests_served_total', 'NATS requests this service answered, by subject served (error replies included)', 'counter', per((s) => s.served));
  metrics.view('twoway_nats_requests_shed_total', 'NATS requests answered OVERLOADED at once (TWOWAY_NATS_MAX_CONCURRENT running and TWOWAY_NATS_MAX_QUEUED waiting, or waited a request timeout), by subject', 'counter', per((s) => s.shed));
  metrics.view('twoway_nats_requests_in_flight', 'NATS requests being handled now, by subject', 'gauge', per((s) => s.inFlight));
  metrics.view('twoway_nats_requests_queued', 'NATS requests waiting for a slot now, by subject', 'gauge', per((s) => s.queued));
}
