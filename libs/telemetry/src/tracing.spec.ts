// Tracing off (no SDK started, as with TWOWAY_OTEL_ENABLED=false): every helper is the API's no-op,
// and a unit of work still gets a trace id for its logs and audit events.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SpanKind, SpanNames, contextOf, currentTraceparent, extractHeaders, extractHttpHeaders, injectHeaders, injectHttpHeaders,
  runInSpan, startSpan, startTelemetry, traceIdentity, traceparentOf, type HeaderCarrier,
} from './index.js';

/** The shape of a NATS `MsgHdrs`. */
const carrier = (init: Record<string, string> = {}): HeaderCarrier & { all: Map<string, string> } => {
  const all = new Map(Object.entries(init));
  return { all, get: (k) => all.get(k) ?? '', set: (k, v) => void all.set(k, v), keys: () => [...all.keys()] };
};
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing off', () => {
  it('a span is the non-recording no-op, with no trace of its own', () => {
    const span = startSpan(SpanNames.Connect, { kind: SpanKind.SERVER, root: true });
    assert.equal(span.isRecording(), false);
    assert.equal(traceparentOf(span), undefined);
    span.end();
  });

  it('traceIdentity still gives each connect a fresh W3C trace id and traceparent', () => {
    const span = startSpan(SpanNames.Connect, { kind: SpanKind.SERVER, root: true });
    const a = traceIdentity(span);
    const b = traceIdentity(span);
    assert.match(a.traceId, /^[0-9a-f]{32}$/);
    assert.match(a.traceparent, new RegExp(`^00-${a.traceId}-[0-9a-f]{16}-01$`));
    assert.notEqual(a.traceId, b.traceId);
  });

  it('inject writes no header and says so; extract finds no parent', () => {
    const h = carrier();
    const span = startSpan(SpanNames.NatsRequest, { kind: SpanKind.CLIENT, parent: contextOf(TP) });
    assert.equal(injectHeaders(h, span), false);
    assert.deepEqual([...h.all], []);
    const child = startSpan(SpanNames.NatsHandle, { kind: SpanKind.SERVER, parent: extractHeaders(carrier({ traceparent: TP })) });
    assert.equal(child.isRecording(), false);
    assert.equal(traceparentOf(child), undefined);
    const http: Record<string, string> = {};
    injectHttpHeaders(http, extractHttpHeaders({ traceparent: TP }));
    assert.deepEqual(http, {});
  });

  it('startTelemetry(…, false) registers nothing: spans stay the no-op', async () => {
    const t = await startTelemetry('test', false);
    const span = startSpan(SpanNames.HttpRequest, { kind: SpanKind.SERVER });
    assert.equal(span.isRecording(), false);
    await t.stop();
  });

  it('runInSpan calls straight through, and no traceparent is current', () => {
    const span = startSpan(SpanNames.NatsHandle, { kind: SpanKind.SERVER });
    assert.equal(runInSpan(span, contextOf(undefined), () => currentTraceparent() ?? 'none'), 'none');
  });
});
