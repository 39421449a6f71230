// OpenTelemetry bootstrap. Off by default (the embedded system exports nothing, and the SDK is not
// even loaded); on with TWOWAY_OTEL_ENABLED, exporting OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (the
// standard OTEL_* variables apply: protocol, sampler, batch delay, ...). Metrics are always served at
// each service's /metrics (metrics.ts); on, they are pushed over OTLP too. docs/observability.md.
import { trace, context, propagation, type Tracer } from '@opentelemetry/api';
import { PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';

export interface Telemetry {
  tracer: Tracer;
  /**
   * Readers for a service's ServiceMetrics besides its /metrics: the OTLP push when telemetry is on
   * and OTEL_METRICS_EXPORTER does not leave otlp out; none otherwise. New ones on every call (a
   * reader serves one MeterProvider).
   */
  metricReaders(): IMetricReader[];
  stop(): Promise<void>;
}

/** OTel's defaults for the periodic metric push. */
const METRIC_EXPORT_INTERVAL_MS = 60_000;
const METRIC_EXPORT_TIMEOUT_MS = 30_000;

export async function startTelemetry(service: string, enabled: boolean): Promise<Telemetry> {
  // The standard OTEL_* variables, as the SDK itself reads them.
  const env = process.env;
  let sdk: { shutdown(): Promise<void> } | undefined;
  let otlpMetrics: (() => PushMetricExporter) | undefined;
  if (enabled) {
    env.OTEL_SERVICE_NAME ??= `twoway-${service}`;
    const m = await import('./otel-sdk.js');
    // Spans (and logs) as the OTEL_* variables say. The SDK makes no MeterProvider of its own unless
    // OTEL_METRICS_EXPORTER is set, and even then ours are the ones with instruments.
    const s = new m.NodeSDK({});
    s.start();
    sdk = s;
    otlpMetrics = otlpMetricExporter(m, env);
  }
  const intervalMs = positiveMs(env.OTEL_METRIC_EXPORT_INTERVAL) ?? METRIC_EXPORT_INTERVAL_MS;
  // The reader refuses a timeout longer than the interval.
  const timeoutMs = Math.min(positiveMs(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? METRIC_EXPORT_TIMEOUT_MS, intervalMs);
  let stopping: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(`twoway-${service}`),
    metricReaders: () => (otlpMetrics ? [new PeriodicExportingMetricReader({ exporter: otlpMetrics(), exportIntervalMillis: intervalMs, exportTimeoutMillis: timeoutMs })] : []),
    stop: () => (stopping ??= sdk ? sdk.shutdown().catch(() => undefined) : Promise.resolve()),
  };
}

/** OTLP metrics unless OTEL_METRICS_EXPORTER names `none` or only other exporters; the protocol as for spans. */
function otlpMetricExporter(m: typeof import('./otel-sdk.js'), env: NodeJS.ProcessEnv): (() => PushMetricExporter) | undefined {
  const wanted = (env.OTEL_METRICS_EXPORTER ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (wanted.includes('none') || (wanted.length > 0 && !wanted.includes('otlp'))) return undefined;
  const protocol = (env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol === 'grpc') return () => new m.OtlpGrpcMetricExporter();
  if (protocol === 'http/json') return () => new m.OtlpJsonMetricExporter();
  return () => new m.OtlpProtoMetricExporter();
}

const positiveMs = (v: string | undefined): number | undefined => {
  const n = Number(v);
  return v && Number.isFinite(n) && n > 0 ? n : undefined;
};

/** A finished span as the SDK hands it to an exporter. */
export type FinishedSpan = import('@opentelemetry/sdk-node').tracing.ReadableSpan;

export interface InMemoryTracing {
  /** Spans ended so far, in the order they ended. */
  spans(): FinishedSpan[];
  reset(): void;
  /** Unregister everything, so the process is back to the API's no-op. */
  stop(): Promise<void>;
}

/**
 * For tests: the tracer provider, context manager and propagator the SDK registers, with spans kept
 * in memory instead of exported. One per process (the API's globals).
 */
export async function startInMemoryTracing(): Promise<InMemoryTracing> {
  const { node, tracing } = await import('./otel-sdk.js');
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new node.NodeTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
  provider.register();
  let stopping: Promise<void> | undefined;
  return {
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    stop: () =>
      (stopping ??= provider.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
      })),
  };
}

/** The trace id of a W3C traceparent. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}
