// Span, attribute and metric names: one registry, so dashboards and code agree.
export const SpanNames = {
  Connect: 'twoway.broker.connect',
  Revocation: 'twoway.broker.revocation',
  NatsRequest: 'twoway.nats.request',
} as const;
export const MetricNames = {
  Connections: 'twoway.broker.connections',
  Decisions: 'twoway.broker.decisions',
  CacheHits: 'twoway.broker.cache_hits',
  CacheMisses: 'twoway.broker.cache_misses',
  RevocationPropagationMs: 'twoway.broker.revocation_propagation_ms',
  SessionsEnded: 'twoway.broker.sessions_ended',
  Stale: 'twoway.broker.stale',
  AuditIngested: 'twoway.audit.ingested',
} as const;
