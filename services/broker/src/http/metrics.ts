// The broker's metrics, served at /metrics: OpenTelemetry instruments of the broker's ServiceMetrics
// (libs/telemetry metrics.ts). Counters and the histogram are declared here as fields, registered when
// constructed; gauges and views are added by what owns the figures. Names follow MetricNames in
// libs/telemetry with dots as underscores. An increment on the connect path builds no string: each
// label set's attributes are made once and handed to the SDK again (docs/observability.md, "Cost").
import { Counter, Histogram, MetricNames, ServiceMetrics, prometheusName as prom, type Sample } from '@twoway/telemetry';

export class BrokerMetrics {
  readonly connections = new Counter(`${prom(MetricNames.Connections)}_total`, 'TCP connections accepted by the MQTT listeners');
  readonly decisions = new Counter(`${prom(MetricNames.Decisions)}_total`, 'Connect decisions by outcome and reason');
  readonly dryRuns = new Counter('twoway_broker_dry_runs_total', 'Dry runs of the connect decision answered by this replica, by decision and reason (not counted as decisions)');
  readonly cacheHits = new Counter(`${prom(MetricNames.CacheHits)}_total`, 'Warm cache hits by cache');
  readonly cacheMisses = new Counter(`${prom(MetricNames.CacheMisses)}_total`, 'Warm cache misses by cache');
  readonly sessionsEnded = new Counter(`${prom(MetricNames.SessionsEnded)}_total`, 'Live sessions ended by the broker, by reason');
  readonly connectTimeouts = new Counter('twoway_broker_connect_timeouts_total', 'Sockets closed at the connect deadline, by stage (handshake, upgrade: wss without a WebSocket yet, connect, decision)');
  readonly pendingRefused = new Counter('twoway_broker_pending_refused_total', 'Unauthenticated sockets closed to make room for a newer one, by bound (address: its source address was at TWOWAY_MAX_PENDING_PER_IP; global: TWOWAY_MAX_PENDING)');
  readonly packetTooLarge = new Counter('twoway_broker_packet_too_large_total', 'Sockets closed for exceeding a byte limit, by stage (connect: bytes before the CONNECT was decided; session: one packet or, on wss, one WebSocket message)');
  readonly wssRefused = new Counter('twoway_broker_wss_refused_total', 'wss connections refused or closed for breaking the WebSocket rules, by reason (not_upgrade, path, subprotocol, handshake, text_frame, frame_error)');
  readonly queueDropped = new Counter('twoway_broker_queue_dropped_total', 'QoS 1/2 messages for persistent sessions dropped by the shared session store, by reason (QUEUE_FULL, QUEUE_BYTES, EXPIRED)');
  readonly auditDropped = new Counter('twoway_broker_audit_dropped_total', 'Audit events dropped unpublished: the in-memory queue (no spill) or the spill was full');
  readonly changesApplied = new Counter('twoway_broker_changes_applied_total', 'Change events applied, by type and path (live: its core NATS announcement; stream: the CHANGES stream, when the announcement did not arrive first)');
  readonly changesAlreadyApplied = new Counter('twoway_broker_changes_already_applied_total', 'Change events delivered by the CHANGES stream and skipped: their announcement was applied first (the usual case)');
  readonly liveChangesDropped = new Counter('twoway_broker_live_changes_dropped_total', 'Change announcements not applied because 1,000 were waiting; the CHANGES stream applies them');
  readonly staleCrlAccepted = new Counter('twoway_broker_stale_crl_accepted_total', 'Connects accepted although the CRL of a CA on their chain was past its nextUpdate (the account accepts stale CRLs); refusals count as decisions with reason CRL_STALE');
  readonly expiringCertConnects = new Counter('twoway_broker_expiring_cert_connects_total', 'Accepted connects whose verified chain has a leaf or intermediate expiring within TWOWAY_EXPIRY_WARNING_DAYS');
  readonly topicDenials = new Counter('twoway_broker_topic_denials_total', 'PUBLISHes and SUBSCRIBEs refused by the account\'s topic rules, by action (publish, subscribe) and reason (TOPIC_DENIED, TOPIC_NOT_ALLOWED)');
  readonly topicDenialsUnaudited = new Counter('twoway_broker_topic_denials_unaudited_total', 'Topic denials counted but not audited: their session was at TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE');
  readonly topicDeliveriesWithheld = new Counter('twoway_broker_topic_deliveries_withheld_total', 'Messages not delivered to a session because its account\'s topic rules no longer let it receive them (a subscription made under earlier rules)');
  readonly revocationPropagationMs = new Histogram(
    `${prom(MetricNames.RevocationPropagationMs)}`,
    'Milliseconds from a change event\'s time to the session it ended being closed',
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
  );

  /** Every Counter and Histogram field above starts recording in `registry` (a new one of its own by default). */
  constructor(readonly registry: ServiceMetrics = new ServiceMetrics('broker')) {
    registry.registerFields(this);
  }

  gauge(name: string, help: string, read: () => number): void {
    this.registry.gauge(name, help, read);
  }

  /** A labelled series read when scraped. */
  view(name: string, help: string, type: 'counter' | 'gauge', read: () => Sample[]): void {
    this.registry.view(name, help, type, read);
  }

  /** The Prometheus text of /metrics: these and whatever else the registry holds (NATS, HTTP). */
  render(): Promise<string> {
    return this.registry.render();
  }
}
