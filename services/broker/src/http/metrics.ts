// The broker's metrics in Prometheus text format (served at /metrics). Names follow MetricNames in
// libs/telemetry with dots as underscores; kept in-process so /metrics costs nothing on the connect path.
import { MetricNames } from '@twoway/telemetry';

type Labels = Record<string, string>;
/**
 * The series key of a label set, the same whatever the order of its names. Built on every increment
 * (each connect decision, each ended session): no JSON, no entries array; sorting only with 2+ labels.
 */
function key(l: Labels): string {
  const names = Object.keys(l);
  if (names.length > 1) names.sort();
  let k = '';
  for (const n of names) k += `${n}\u0000${l[n]}\u0001`;
  return k;
}
const prom = (n: string) => n.replace(/\./g, '_');
const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const fmt = (l: Labels) => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
};

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    const v = this.values.get(k);
    if (v) v.value += by;
    else this.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels))?.value ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${fmt(labels)} ${value}`);
    return lines.join('\n');
  }
}

class Gauge {
  constructor(readonly name: string, readonly help: string, private readonly read: () => number) {}
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`].join('\n');
  }
}

/** Series read from their owner when rendered (counts kept by caches and libraries, not on our hot path). */
class View {
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'gauge', private readonly read: () => { labels: Labels; value: number }[]) {}
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.read().map(({ labels, value }) => `${this.name}${fmt(labels)} ${value}`)].join('\n');
  }
}

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, private readonly buckets: number[]) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    this.buckets.forEach((b, i) => {
      if (v <= b) this.counts[i]! += 1;
    });
  }
  get observations(): number {
    return this.count;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

export class BrokerMetrics {
  readonly connections = new Counter(`${prom(MetricNames.Connections)}_total`, 'TCP connections accepted by the MQTT listeners');
  readonly decisions = new Counter(`${prom(MetricNames.Decisions)}_total`, 'Connect decisions by outcome and reason');
  readonly cacheHits = new Counter(`${prom(MetricNames.CacheHits)}_total`, 'Warm cache hits by cache');
  readonly cacheMisses = new Counter(`${prom(MetricNames.CacheMisses)}_total`, 'Warm cache misses by cache');
  readonly sessionsEnded = new Counter(`${prom(MetricNames.SessionsEnded)}_total`, 'Live sessions ended by the broker, by reason');
  readonly connectTimeouts = new Counter('twoway_broker_connect_timeouts_total', 'Sockets closed at the connect deadline, by stage (handshake, upgrade: wss without a WebSocket yet, connect, decision)');
  readonly pendingRefused = new Counter('twoway_broker_pending_refused_total', 'Unauthenticated sockets closed to make room for a newer one, by bound (address: its source address was at TWOWAY_MAX_PENDING_PER_IP; global: TWOWAY_MAX_PENDING)');
  readonly packetTooLarge = new Counter('twoway_broker_packet_too_large_total', 'Sockets closed for exceeding a byte limit, by stage (connect: bytes before the CONNECT was decided; session: one packet or, on wss, one WebSocket message)');
  readonly wssRefused = new Counter('twoway_broker_wss_refused_total', 'wss connections refused or closed for breaking the WebSocket rules, by reason (not_upgrade, path, subprotocol, handshake, text_frame, frame_error)');
  readonly queueDropped = new Counter('twoway_broker_queue_dropped_total', 'QoS 1/2 messages for persistent sessions dropped by the shared session store, by reason (QUEUE_FULL, QUEUE_BYTES, EXPIRED)');
  readonly auditDropped = new Counter('twoway_broker_audit_dropped_total', 'Audit events dropped unpublished: the in-memory queue (no spill) or the spill was full');
  readonly changesApplied = new Counter('twoway_broker_changes_applied_total', 'Change events applied from the CHANGES stream, by type');
  readonly topicDenials = new Counter('twoway_broker_topic_denials_total', 'PUBLISHes and SUBSCRIBEs refused by the account\'s topic rules, by action (publish, subscribe) and reason (TOPIC_DENIED, TOPIC_NOT_ALLOWED)');
  readonly topicDenialsUnaudited = new Counter('twoway_broker_topic_denials_unaudited_total', 'Topic denials counted but not audited: their session was at TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE');
  readonly topicDeliveriesWithheld = new Counter('twoway_broker_topic_deliveries_withheld_total', 'Messages not delivered to a session because its account\'s topic rules no longer let it receive them (a subscription made under earlier rules)');
  readonly revocationPropagationMs = new Histogram(
    `${prom(MetricNames.RevocationPropagationMs)}`,
    'Milliseconds from a change event\'s time to the session it ended being closed',
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
  );
  private readonly gauges: (Gauge | View)[] = [];

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push(new Gauge(name, help, read));
  }

  /** A labelled series read at render time. */
  view(name: string, help: string, type: 'counter' | 'gauge', read: () => { labels: Labels; value: number }[]): void {
    this.gauges.push(new View(name, help, type, read));
  }

  render(): string {
    return [
      this.connections, this.decisions, this.cacheHits, this.cacheMisses, this.sessionsEnded, this.connectTimeouts,
      this.pendingRefused, this.packetTooLarge, this.wssRefused, this.queueDropped, this.auditDropped, this.changesApplied, this.revocationPropagationMs,
      this.topicDenials, this.topicDenialsUnaudited, this.topicDeliveriesWithheld, ...this.gauges,
    ].map((m) => m.render()).join('\n') + '\n';
  }
}
