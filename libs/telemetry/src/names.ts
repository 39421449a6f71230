// Span, attribute and metric names: one registry, so dashboards and code agree.
export const SpanNames = {
  /** SERVER, root of a connect's trace: one MQTT CONNECT decided by a broker. */
  Connect: 'twoway.broker.connect',
  /** CONSUMER: one CHANGES-stream event applied by a broker, parented by the write that published it. */
  Revocation: 'twoway.broker.revocation',
  /** CLIENT: a request/reply sent to the owning service (subject in `messaging.destination.name`). */
  NatsRequest: 'twoway.nats.request',
  /** SERVER: a request answered by the owning service, parented by the `traceparent` NATS header. */
  NatsHandle: 'twoway.nats.handle',
  /** PRODUCER: a fact published to JetStream (the outbox relay), parented by the trace that wrote it. */
  NatsPublish: 'twoway.nats.publish',
  /** SERVER: a REST call (`/api/v1/...`) handled by a service or forwarded by the gateway. */
  HttpRequest: 'twoway.http.request',
} as const;
export type SpanName = (typeof SpanNames)[keyof typeof SpanNames];

/**
 * Span attributes. Ours are `twoway.*`; the rest are OpenTelemetry semantic conventions. Values are
 * codes, ids and counts: never a password, a token, a certificate (PEM or fields) or a payload.
 */
export const AttributeNames = {
  ConnectOutcome: 'twoway.connect.outcome',
  ConnectReason: 'twoway.connect.reason',
  ConnectMode: 'twoway.connect.mode',
  ConnectTransport: 'twoway.connect.transport',
  /** How the presented chain stood: none, not_evaluated, untrusted, blocked, trusted. */
  ConnectCertificate: 'twoway.connect.certificate',
  AccountId: 'twoway.account.id',
  /** A CHANGES-stream event as a broker applied it: its type, and the live sessions it ended there. */
  ChangeType: 'twoway.change.type',
  SessionsEnded: 'twoway.sessions.ended',
  /** The MQTT client id as the device sent it, escaped (libs/telemetry `escapeField`). */
  MqttClientId: 'twoway.mqtt.client_id',
  /** Answers one connect got from the broker's warm caches, and questions it had to send over NATS. */
  CacheHits: 'twoway.cache.hits',
  CacheMisses: 'twoway.cache.misses',
  /** The contracts error code of a failed request (`UNAVAILABLE` when nobody answered). */
  ErrorCode: 'twoway.error.code',
  MessagingSystem: 'messaging.system',
  MessagingDestination: 'messaging.destination.name',
  MessagingOperation: 'messaging.operation.type',
  HttpMethod: 'http.request.method',
  HttpRoute: 'http.route',
  HttpStatus: 'http.response.status_code',
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
