// Tracing on (the SDK's provider, context manager and W3C propagator, spans kept in memory): trace
// context written into NATS and HTTP headers comes back out as the same trace and parent.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  SpanKind, SpanNames, contextOf, contextWithSpan, currentTraceparent, extractHeaders, extractHttpHeaders, injectHeaders,
  injectHttpHeaders, runInSpan, startInMemoryTracing, startSpan, traceIdentity, traceparentOf, withContext,
  type HeaderCarrier, type InMemoryTracing,
} from './index.js';

const carrier = (init: Record<string, string> = {}): HeaderCarrier & { all: Map<string, string> } => {
  const all = new Map(Object.entries(init));
  return { all, get: (k) => all.get(k) ?? '', set: (k, v) => void all.set(k, v), keys: () => [...all.keys()] };
};
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing on: trace context in headers', () => {
  let mem: InMemoryTracing;
  before(async () => {
    mem = await startInMemoryTracing();
  });
  after(async () => {
    await mem?.stop();
  });
  beforeEach(() => mem.reset());

  it('inject writes the span as the W3C traceparent header', () => {
    const span = startSpan(SpanNames.NatsRequest, { kind: SpanKind.CLIENT, root: true });
    const h = carrier();
    assert.equal(injectHeaders(h, span), true);
    const sc = span.spanContext();
    assert.equal(h.get('traceparent'), `00-${sc.traceId}-${sc.spanId}-01`);
    assert.equal(traceparentOf(span), h.get('traceparent'));
    span.end();
  });

  it('extract → child: same trace, the sender as parent (CLIENT → SERVER across NATS)', () => {
    const client = startSpan(SpanNames.NatsRequest, { kind: SpanKind.CLIENT, root: true });
    const h = carrier();
    injectHeaders(h, client);
    const server = startSpan(SpanNames.NatsHandle, { kind: SpanKind.SERVER, parent: extractHeaders(h) });
    server.end();
    client.end();
    const [s, c] = mem.spans();
    assert.equal(s!.name, SpanNames.NatsHandle);
    assert.equal(s!.spanContext().traceId, c!.spanContext().traceId);
    assert.equal(s!.parentSpanContext?.spanId, c!.spanContext().spanId);
    assert.equal(s!.parentSpanContext?.isRemote, true);
  });

  it('tracestate travels with traceparent', () => {
    const parent = extractHeaders(carrier({ traceparent: TP, tracestate: 'vendor=abc' }));
    const span = startSpan(SpanNames.NatsRequest, { kind: SpanKind.CLIENT, parent });
    const h = carrier();
    injectHeaders(h, span, parent);
    assert.match(h.get('traceparent'), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.equal(h.get('tracestate'), 'vendor=abc');
    span.end();
  });

  it('a stored traceparent (an outbox row) parents a later span', () => {
    const span = startSpan(SpanNames.NatsPublish, { kind: SpanKind.PRODUCER, parent: contextOf(TP) });
    span.end();
    const [p] = mem.spans();
    assert.equal(p!.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(p!.parentSpanContext?.spanId, 'b7ad6b7169203331');
  });

  it('a malformed or missing header is no parent: a new trace starts', () => {
    for (const parent of [extractHeaders(carrier({ traceparent: 'garbage' })), extractHeaders(undefined), contextOf('00-zz-yy-01'), contextOf(undefined)]) {
      const span = startSpan(SpanNames.NatsHandle, { kind: SpanKind.SERVER, parent });
      span.end();
    }
    for (const s of mem.spans()) assert.equal(s.parentSpanContext, undefined);
  });

  it('traceIdentity is the span\'s own trace (logs and audit agree with the trace)', () => {
    const span = startSpan(SpanNames.Connect, { kind: SpanKind.SERVER, root: true });
    const id = traceIdentity(span);
    assert.equal(id.traceId, span.spanContext().traceId);
    assert.equal(id.traceparent, `00-${id.traceId}-${span.spanContext().spanId}-01`);
    span.end();
  });

  it('runInSpan makes the span current across awaits (outbox rows store its traceparent)', async () => {
    const span = startSpan(SpanNames.HttpRequest, { kind: SpanKind.SERVER, root: true });
    const seen = await runInSpan(span, contextOf(undefined), async () => {
      // Not a wait for anything: the behaviour under test is that the span stays current across a
      // timer callback (a later event-loop turn), as it must across a database or NATS round trip.
      await new Promise((r) => setTimeout(r, 1));
      return currentTraceparent();
    });
    assert.equal(seen, traceparentOf(span));
    assert.equal(currentTraceparent(), undefined);
    span.end();
  });

  it('HTTP headers: extract from a request, inject into the forwarded one', () => {
    const parent = extractHttpHeaders({ traceparent: [TP], 'content-length': 3 });
    const span = startSpan(SpanNames.HttpRequest, { kind: SpanKind.SERVER, parent });
    const fwd: Record<string, string> = { traceparent: TP };
    withContext(contextWithSpan(parent, span), () => injectHttpHeaders(fwd));
    assert.equal(fwd.traceparent, traceparentOf(span));
    assert.match(fwd.traceparent!, /^00-0af7651916cd43dd8448eb211c80319c-/);
    span.end();
  });
});
