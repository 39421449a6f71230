// OpenTelemetry bootstrap. Off by default (the embedded system exports nothing, and the SDK is not
// even loaded); on with TWOWAY_OTEL_ENABLED, exporting OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (the
// standard OTEL_* variables apply: protocol, sampler, batch delay, ...). docs/observability.md.
import { trace, metrics, context, propagation, type Tracer, type Meter } from '@opentelemetry/api';

export interface Telemetry {
  tracer: Tracer;
  meter: Meter;
  stop(): Promise<void>;
}

export async function startTelemetry(service: string, enabled: boolean): Promise<Telemetry> {
  let sdk: { shutdown(): Promise<void> } | undefined;
  if (enabled) {
    process.env.OTEL_SERVICE_NAME ??= `twoway-${service}`;
    const { NodeSDK } = await import('./otel-sdk.js');
    const s = new NodeSDK({});
    s.start();
    sdk = s;
  }
  let stopping: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(`twoway-${service}`),
    meter: metrics.getMeter(`twoway-${service}`),
    stop: () => (stopping ??= sdk ? sdk.shutdown().catch(() => undefined) : Promise.resolve()),
  };
}

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
