// @twoway/telemetry: logs (pino, redaction), OpenTelemetry bootstrap, spans and trace context, metrics, telemetry names.
export { createLogger, escapeField, REDACT_PATHS } from './logger.js';
export type { Logger } from './logger.js';
export { startTelemetry, startInMemoryTracing, traceIdOf } from './otel.js';
export type { Telemetry, InMemoryTracing, FinishedSpan } from './otel.js';
export {
  SpanKind, SpanStatusCode, startSpan, activeContext, contextWithSpan, withContext, runInSpan,
  injectHeaders, extractHeaders, contextOf, extractHttpHeaders, injectHttpHeaders,
  traceparentOf, currentTraceparent, traceIdentity, failSpan,
} from './tracing.js';
export type { Span, TraceContext, HeaderCarrier, HttpHeaders, StartSpanOptions } from './tracing.js';
export { Counter, Histogram, ServiceMetrics, PROMETHEUS_CONTENT_TYPE, prometheusName } from './metrics.js';
export type { Labels, Sample, ServiceMetricsOptions } from './metrics.js';
export { SpanNames, AttributeNames, MetricNames } from './names.js';
export { promFamily } from './prometheus.js';
export type { PromSeries } from './prometheus.js';
export type { SpanName } from './names.js';
