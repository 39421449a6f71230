// The OpenTelemetry SDK, imported by otel.ts only when tracing is on. An ES module of our own as the
// lazy boundary: a production bundle (scripts/build.mjs) puts it in a chunk of its own with real named
// exports, where a dynamic import of the CommonJS SDK itself would yield only a default export.
export { NodeSDK, node, tracing } from '@opentelemetry/sdk-node';
// The OTLP metric exporters, one per OTEL_EXPORTER_OTLP_PROTOCOL (sdk-node makes the same choice for spans).
export { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
export { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
export { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
