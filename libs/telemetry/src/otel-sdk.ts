// The OpenTelemetry SDK, imported by otel.ts only when tracing is on. An ES module of our own as the
// lazy boundary: a production bundle (scripts/build.mjs) puts it in a chunk of its own with real named
// exports, where a dynamic import of the CommonJS SDK itself would yield only a default export.
export { NodeSDK, node, tracing } from '@opentelemetry/sdk-node';
