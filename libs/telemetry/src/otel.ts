// OpenTelemetry bootstrap. Off by default (the embedded system exports nothing); on with
// TWOWAY_OTEL_ENABLED, exporting OTLP to OTEL_EXPORTER_OTLP_ENDPOINT.
import { NodeSDK } from '@opentelemetry/sdk-node';
import { trace, metrics, context, propagation, type Tracer, type Meter } from '@opentelemetry/api';

export interface Telemetry {
  tracer: Tracer;
  meter: Meter;
  stop(): Promise<void>;
}

export async function startTelemetry(service: string, enabled: boolean): Promise<Telemetry> {
  let sdk: NodeSDK | undefined;
  if (enabled) {
    process.env.OTEL_SERVICE_NAME ??= `twoway-${service}`;
    sdk = new NodeSDK({});
    sdk.start();
  }
  let stopping: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(`twoway-${service}`),
    meter: metrics.getMeter(`twoway-${service}`),
    stop: () => (stopping ??= sdk ? sdk.shutdown().catch(() => undefined) : Promise.resolve()),
  };
}

/** W3C traceparent of the active span, for NATS headers. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** A new random trace id when no span is active, so every log line and audit event can carry one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}
