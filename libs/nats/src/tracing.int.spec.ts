// Tracing on, against a real nats-server: a request is a CLIENT span, its handling in the answering
// service a SERVER span parented through the `traceparent` header, and an outbox publish a PRODUCER
// span in the trace that wrote the row.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { Streams, auditSubject } from '@twoway/contracts';
import { SpanKind, SpanNames, SpanStatusCode, startInMemoryTracing, type InMemoryTracing } from '@twoway/telemetry';
import { NatsServer, waitFor } from '@twoway/testing';
import { Bus, CodedError } from './index.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('bus: spans and trace context in NATS headers', () => {
  let mem: InMemoryTracing;
  let nats: NatsServer;
  let server: Bus;
  let client: Bus;
  const seen: (string | undefined)[] = [];

  before(async () => {
    mem = await startInMemoryTracing();
    nats = await NatsServer.start();
    server = await Bus.connect({ servers: nats.url, name: 'server' });
    client = await Bus.connect({ servers: nats.url, name: 'client' });
    await server.ensureStreams();
    server.serve('test.echo', Type.Object({ n: Type.Number() }), (req, ctx) => {
      seen.push(ctx.traceparent);
      return { n: req.n };
    });
    server.serve('test.refuse', Type.Object({}), () => {
      throw new CodedError('ACCOUNT_NOT_FOUND');
    });
    // The subscriptions must have reached the server before the first request (else: no responders).
    await server.nc.flush();
  });
  after(async () => {
    await client?.stop();
    await server?.stop();
    await nats?.stop();
    await mem?.stop();
  });
  beforeEach(() => mem.reset());

  const spansNamed = (name: string) => mem.spans().filter((s) => s.name === name);

  it('request → CLIENT span child of the given traceparent; handling → SERVER span child of the CLIENT span', async () => {
    assert.deepEqual(await client.request('test.echo', { n: 1 }, Type.Object({ n: Type.Number() }), { traceparent: TP }), { n: 1 });
    await waitFor(() => spansNamed(SpanNames.NatsHandle).length === 1 && spansNamed(SpanNames.NatsRequest).length === 1, { what: 'both spans ended' });
    const [c] = spansNamed(SpanNames.NatsRequest);
    const [s] = spansNamed(SpanNames.NatsHandle);
    assert.equal(c!.kind, SpanKind.CLIENT);
    assert.equal(s!.kind, SpanKind.SERVER);
    assert.equal(c!.spanContext().traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(c!.parentSpanContext?.spanId, 'b7ad6b7169203331');
    assert.equal(s!.spanContext().traceId, c!.spanContext().traceId);
    assert.equal(s!.parentSpanContext?.spanId, c!.spanContext().spanId);
    assert.deepEqual(c!.attributes, { 'messaging.system': 'nats', 'messaging.destination.name': 'test.echo', 'messaging.operation.type': 'send' });
    // The handler sees the header as sent: the CLIENT span's traceparent.
    assert.equal(seen.at(-1), `00-${c!.spanContext().traceId}-${c!.spanContext().spanId}-01`);
  });

  it('an error reply marks both spans failed with its code, and no message', async () => {
    await assert.rejects(client.request('test.refuse', {}, Type.Object({})), { name: 'RemoteError', code: 'ACCOUNT_NOT_FOUND' });
    await waitFor(() => spansNamed(SpanNames.NatsHandle).length === 1, { what: 'server span' });
    for (const s of mem.spans()) {
      assert.equal(s.status.code, SpanStatusCode.ERROR);
      assert.equal(s.attributes['twoway.error.code'], 'ACCOUNT_NOT_FOUND');
    }
  });

  it('nobody answering: the CLIENT span says UNAVAILABLE', async () => {
    await assert.rejects(client.request('test.nobody', {}, Type.Object({}), { timeoutMs: 200 }), { name: 'UnavailableError' });
    const [c] = spansNamed(SpanNames.NatsRequest);
    assert.equal(c!.attributes['twoway.error.code'], 'UNAVAILABLE');
    assert.equal(c!.parentSpanContext, undefined, 'nothing active: a trace of its own');
  });

  it('publishRaw with a row\'s traceparent → PRODUCER span in that trace, its context in the stored message', async () => {
    const id = `ev-${Date.now()}`;
    await client.publishRaw(auditSubject('test.traced'), id, JSON.stringify({ id }), TP);
    const [p] = spansNamed(SpanNames.NatsPublish);
    assert.equal(p!.kind, SpanKind.PRODUCER);
    assert.equal(p!.parentSpanContext?.spanId, 'b7ad6b7169203331');
    const jsm = await client.jsm();
    const stored = await jsm.streams.getMessage(Streams.Audit.name, { last_by_subj: auditSubject('test.traced') });
    assert.equal(stored.header.get('traceparent'), `00-${p!.spanContext().traceId}-${p!.spanContext().spanId}-01`);
  });

  it('publishRaw without a traceparent (a row written outside any trace): no span, no header', async () => {
    const id = `ev-${Date.now()}-untraced`;
    await client.publishRaw(auditSubject('test.untraced'), id, JSON.stringify({ id }));
    assert.equal(spansNamed(SpanNames.NatsPublish).length, 0);
    const stored = await (await client.jsm()).streams.getMessage(Streams.Audit.name, { last_by_subj: auditSubject('test.untraced') });
    assert.equal(stored.header?.get('traceparent') ?? '', '');
  });
});
