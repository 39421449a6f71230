// @twoway/telemetry: logs (pino, redaction), OpenTelemetry bootstrap, telemetry names.
export { createLogger, escapeField, REDACT_PATHS } from './logger.js';
export type { Logger } from './logger.js';
export { startTelemetry, currentTraceparent, traceIdOf } from './otel.js';
export type { Telemetry } from './otel.js';
export { SpanNames, MetricNames } from './names.js';
