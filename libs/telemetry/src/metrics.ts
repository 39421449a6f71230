// Metrics of every service through the OpenTelemetry metrics SDK: a service makes one ServiceMetrics
// (one MeterProvider; one per process in production), read by the Prometheus exporter into the
// service's own /metrics route (libs/http) and, with TWOWAY_OTEL_ENABLED, pushed over OTLP as well
// (the readers `Telemetry.metricReaders()` hands out). docs/observability.md lists every metric.
//
// Names are what /metrics shows. A counter's OTel instrument is that name without `_total`, which the
// exporter appends to every monotonic sum: the Prometheus name comes back unchanged, and an OTLP
// backend sees the OTel convention. No unit is set (names carry theirs: `_ms`, `_bytes`), so no
// exporter appends one; the exporter adds no scope labels, and one `target_info` series.
import type { Attributes, Histogram as OtelHistogram, Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Logger } from './logger.js';
import type { Telemetry } from './otel.js';

export type Labels = Readonly<Record<string, string>>;
/** A labelled value read when scraped (a count kept by a cache or a library, not on our hot path). */
export interface Sample {
  labels: Labels;
  value: number;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** `twoway.broker.decisions` → `twoway_broker_decisions` (MetricNames to Prometheus names). */
export const prometheusName = (name: string): string => name.replace(/\./g, '_');
const withoutTotal = (name: string) => (name.endsWith('_total') ? name.slice(0, -'_total'.length) : name);

const NO_LABELS: Labels = Object.freeze({});

/** One label set of a metric: its attributes, made once and handed to the SDK, and its running total. */
interface Series {
  readonly attributes: Attributes;
  value: number;
}
interface Node {
  readonly next: Map<string, Map<string, Node>>;
  series?: Series;
}

/**
 * Label sets to their series with no string built per call: a walk over the labels in the order the
 * caller wrote them, two map lookups each. A new label set, or a known one written in another order,
 * goes through a sorted key once; its order then has a path of its own. Label values are codes
 * (reasons, stages, transports), so the paths are as few as the code's label sets.
 */
class SeriesIndex {
  private readonly root: Node = { next: new Map() };
  private readonly byKey = new Map<string, Series>();

  /** The series of `labels`, made on first use. */
  of(labels: Labels): Series {
    return this.walk(labels) ?? this.add(labels);
  }

  /** The series of `labels` if it exists. */
  find(labels: Labels): Series | undefined {
    return this.walk(labels) ?? this.byKey.get(keyOf(labels));
  }

  /** Every series, each once. */
  all(): IterableIterator<Series> {
    return this.byKey.values();
  }

  private walk(labels: Labels): Series | undefined {
    let n: Node | undefined = this.root;
    for (const name in labels) {
      n = n.next.get(name)?.get(labels[name]!);
      if (!n) return undefined;
    }
    return n.series;
  }

  private add(labels: Labels): Series {
    const key = keyOf(labels);
    let series = this.byKey.get(key);
    if (!series) this.byKey.set(key, (series = { attributes: Object.freeze({ ...labels }), value: 0 }));
    let n = this.root;
    for (const name in labels) {
      let byValue = n.next.get(name);
      if (!byValue) n.next.set(name, (byValue = new Map()));
      let child = byValue.get(labels[name]!);
      if (!child) byValue.set(labels[name]!, (child = { next: new Map() }));
      n = child;
    }
    n.series = series;
    return series;
  }
}

/** The same for a label set whatever the order of its names, and apart for values a naive join would merge. */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels).sort();
  let k = '';
  for (const n of names) k += `${n}\u0000${labels[n]}\u0001`;
  return k;
}

/**
 * A counter, declared by its Prometheus name (`…_total`). `inc` adds to this process's running total
 * of one label set and nothing else; a ServiceMetrics that registered it hands every total to the SDK
 * when it collects (an OTel ObservableCounter: a cumulative monotonic sum, exported exactly as a
 * Counter is). A synchronous OTel Counter would hash the attributes (sorted, stringified) on every
 * `add`: on the broker's connect path, several counters each connect, that was 0.1 ms per connect.
 * `get` reads the running total of one label set.
 */
export class Counter {
  private readonly series = new SeriesIndex();
  private attached = false;

  constructor(readonly name: string, readonly help: string) {}

  /** @internal ServiceMetrics.register */
  attach(meter: Meter): void {
    if (this.attached) throw new Error(`metric ${this.name} is registered twice`);
    this.attached = true;
    meter.createObservableCounter(withoutTotal(this.name), { description: this.help }).addCallback((r) => {
      for (const s of this.series.all()) r.observe(s.value, s.attributes);
    });
  }

  inc(labels: Labels = NO_LABELS, by = 1): void {
    this.series.of(labels).value += by;
  }

  get(labels: Labels = NO_LABELS): number {
    return this.series.find(labels)?.value ?? 0;
  }
}

/** A histogram (an OTel Histogram) with explicit bucket boundaries, shown as `…_bucket{le=…}`, `…_sum`, `…_count`. */
export class Histogram {
  private readonly series = new SeriesIndex();
  private instrument?: OtelHistogram;
  private count = 0;

  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}

  /** @internal ServiceMetrics.register */
  attach(meter: Meter): void {
    if (this.instrument) throw new Error(`metric ${this.name} is registered twice`);
    this.instrument = meter.createHistogram(this.name, { description: this.help, advice: { explicitBucketBoundaries: [...this.buckets] } });
  }

  observe(v: number, labels: Labels = NO_LABELS): void {
    const s = this.series.of(labels);
    s.value += 1;
    this.count += 1;
    this.instrument?.record(v, s.attributes);
  }

  /** Observations so far, over every label set. */
  get observations(): number {
    return this.count;
  }
}

export interface ServiceMetricsOptions {
  /** The process's telemetry: with TWOWAY_OTEL_ENABLED its readers push the same instruments over OTLP. */
  telemetry?: Pick<Telemetry, 'metricReaders'>;
  /** Told when a scrape could not read everything (a gauge's callback threw); the rest is still served. */
  log?: Pick<Logger, 'warn'>;
}

/** One service's metrics: its MeterProvider, read for /metrics by the Prometheus exporter. */
export class ServiceMetrics {
  readonly meter: Meter;
  private readonly provider: MeterProvider;
  // No HTTP server of its own: the service's fastify serves `render()` at /metrics.
  private readonly prometheus = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer(undefined, false);
  private stopping?: Promise<void>;

  constructor(readonly service: string, private readonly o: ServiceMetricsOptions = {}) {
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win, as they do for traces.
    const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': `twoway-${service}` })).merge(detectResources({ detectors: [envDetector] }));
    this.provider = new MeterProvider({ resource, readers: [this.prometheus, ...(o.telemetry?.metricReaders() ?? [])] });
    this.meter = this.provider.getMeter(`twoway-${service}`);
  }

  /** Start recording declared instruments (fields made with `new Counter(…)`, `new Histogram(…)`). */
  register(...instruments: (Counter | Histogram)[]): void {
    for (const i of instruments) i.attach(this.meter);
  }

  /** Register every Counter and Histogram field of `owner`, in declaration order. */
  registerFields(owner: object): void {
    this.register(...Object.values(owner).filter((v): v is Counter | Histogram => v instanceof Counter || v instanceof Histogram));
  }

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.register(c);
    return c;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.register(h);
    return h;
  }

  /** A gauge read when scraped (an ObservableGauge). */
  gauge(name: string, help: string, read: () => number): void {
    this.meter.createObservableGauge(name, { description: help }).addCallback((r) => r.observe(read()));
  }

  /** Labelled series read when scraped: an ObservableCounter (`…_total`, cumulative counts) or an ObservableGauge. */
  view(name: string, help: string, type: 'counter' | 'gauge', read: () => Sample[]): void {
    const instrument = type === 'counter'
      ? this.meter.createObservableCounter(withoutTotal(name), { description: help })
      : this.meter.createObservableGauge(name, { description: help });
    instrument.addCallback((r) => {
      for (const s of read()) r.observe(s.value, s.labels);
    });
  }

  /** The Prometheus text exposition (format 0.0.4) of every instrument. */
  async render(): Promise<string> {
    const { resourceMetrics, errors } = await this.prometheus.collect();
    if (errors.length > 0) this.o.log?.warn({ err: errors[0], errors: errors.length }, 'metrics: a series could not be read');
    return this.serializer.serialize(resourceMetrics);
  }

  /** Flush the other readers (the last OTLP push) and stop. */
  stop(): Promise<void> {
    return (this.stopping ??= this.provider.shutdown());
  }
}
