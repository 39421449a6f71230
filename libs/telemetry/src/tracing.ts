// Spans and W3C trace context for every service: the one module that touches the OpenTelemetry
// tracing API. Trace context rides in NATS headers (and HTTP headers) through the registered
// propagator, so one connect shows broker → NATS → owning service. Without a started SDK
// (TWOWAY_OTEL_ENABLED=false) every call here is the API's no-op: a non-recording span, no context
// switch, no header written; callers set attributes only when `span.isRecording()`.
import { randomBytes } from 'node:crypto';
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { AttributeNames, type SpanName } from './names.js';

export { SpanKind, SpanStatusCode };
export type { Span, Context as TraceContext };

// A ProxyTracer: it finds the SDK's tracer once one is registered, and is the no-op tracer until then.
const tracer = trace.getTracer('twoway');

/** Headers as a NATS message holds them (`MsgHdrs` from the `nats` package fits). */
export interface HeaderCarrier {
  get(key: string): string;
  set(key: string, value: string): void;
  keys(): string[];
}
/** Headers as node's HTTP modules hold them (lower-case names). */
export type HttpHeaders = Record<string, string | string[] | number | undefined>;

const headerGetter: TextMapGetter<HeaderCarrier> = { get: (c, k) => c.get(k) || undefined, keys: (c) => c.keys() };
const headerSetter: TextMapSetter<HeaderCarrier> = { set: (c, k, v) => c.set(k, v) };
// A stored traceparent (an outbox row, a connect attempt) read as a one-header carrier, without a copy.
const traceparentGetter: TextMapGetter<string> = { get: (tp, k) => (k === 'traceparent' ? tp : undefined), keys: () => ['traceparent'] };
const httpGetter: TextMapGetter<HttpHeaders> = {
  get: (h, k) => {
    const v = h[k];
    return typeof v === 'number' ? String(v) : v;
  },
  keys: (h) => Object.keys(h),
};
const httpSetter: TextMapSetter<HttpHeaders> = { set: (h, k, v) => void (h[k] = v) };

export interface StartSpanOptions {
  kind: SpanKind;
  /** The parent; the active context when omitted. */
  parent?: Context;
  /** A new trace, whatever is active (a connect has no parent: MQTT 3.1.1 carries no trace context). */
  root?: boolean;
}

export function startSpan(name: SpanName, o: StartSpanOptions): Span {
  return tracer.startSpan(name, { kind: o.kind, root: o.root }, o.parent ?? context.active());
}

export const activeContext = (): Context => context.active();

/** `parent` with `span` as its current span; `parent` itself when the span is the no-op one. */
export function contextWithSpan(parent: Context, span: Span): Context {
  return isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : parent;
}

/** Run `fn` with `ctx` active (spans it starts become children; `currentTraceparent()` names it). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** Run `fn` with `span` active under `parent`; a no-op span costs no context switch. */
export function runInSpan<T>(span: Span, parent: Context, fn: () => T): T {
  return isSpanContextValid(span.spanContext()) ? context.with(trace.setSpan(parent, span), fn) : fn();
}

/**
 * Write `span`'s trace context into NATS headers (the `traceparent` header with the W3C
 * propagator). False when nothing was written: tracing is off and the span is the no-op one.
 */
export function injectHeaders(carrier: HeaderCarrier, span: Span, parent: Context = ROOT_CONTEXT): boolean {
  if (!isSpanContextValid(span.spanContext())) return false;
  propagation.inject(trace.setSpan(parent, span), carrier, headerSetter);
  return true;
}

/** The parent context a NATS message carries; the root context when it carries none (or tracing is off). */
export function extractHeaders(carrier: HeaderCarrier | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier, headerGetter) : ROOT_CONTEXT;
}

/** The parent context a stored W3C `traceparent` names; the root context when absent or malformed. */
export function contextOf(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, traceparent, traceparentGetter) : ROOT_CONTEXT;
}

/** The parent context of an incoming HTTP request. */
export function extractHttpHeaders(headers: HttpHeaders): Context {
  return propagation.extract(ROOT_CONTEXT, headers, httpGetter);
}

/** Write the active context into outgoing HTTP headers (a proxy forwarding a request). */
export function injectHttpHeaders(headers: HttpHeaders, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, httpSetter);
}

/** W3C traceparent of a span; undefined for the no-op span. */
export function traceparentOf(span: Span): string | undefined {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1) === 1 ? '01' : '00'}`;
}

/** W3C traceparent of the active span, for NATS headers and outbox rows. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * The trace id and traceparent a unit of work is logged, audited and asked about under: the span's
 * own when it records (so logs, audit events and the trace agree), otherwise fresh random ones, so
 * every log line and audit event carries a trace id even with tracing off.
 */
export function traceIdentity(span: Span): { traceId: string; traceparent: string } {
  const sc = span.spanContext();
  if (isSpanContextValid(sc)) return { traceId: sc.traceId, traceparent: traceparentOf(span)! };
  const hex = randomBytes(24).toString('hex');
  const traceId = hex.slice(0, 32);
  return { traceId, traceparent: `00-${traceId}-${hex.slice(32)}-01` };
}

/** Mark a span failed with a contracts code (no message: messages may echo input). */
export function failSpan(span: Span, code: string): void {
  if (!span.isRecording()) return;
  span.setAttribute(AttributeNames.ErrorCode, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}
