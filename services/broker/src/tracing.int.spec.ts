// One device connect is one trace: the broker's `twoway.broker.connect` span, a CLIENT span for each
// NATS request it sends, and the owner's SERVER span for handling it, parented through the
// `traceparent` header — with the real broker, NATS, TLS and MQTT client, spans kept in memory.
// (The owners here are the fixture's responders, answering through the same Bus.serve as the real
// services; test/e2e/tracing.e2e.spec.ts shows the same across processes with the real services.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { ChangeSubjects, RequestSubjects } from '@twoway/contracts';
import { SpanKind, SpanNames, SpanStatusCode, startInMemoryTracing, type FinishedSpan, type InMemoryTracing } from '@twoway/telemetry';
import { waitFor } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { PASSWORD, settingsOf, startFixture, type Fixture } from './broker.fixture.js';

describe('broker: a connect is one trace across broker → NATS → owner', () => {
  let mem: InMemoryTracing;
  let fx: Fixture;
  let device: Issued;

  before(async () => {
    mem = await startInMemoryTracing();
    fx = await startFixture();
    fx.accounts['acc-tr'] = settingsOf(false, true);
    fx.credentials.set('dev-tr', { accountId: 'acc-tr', id: 'cred-tr' });
    fx.register('root', fx.pki.root, 'VALID');
    device = await fx.pki.device('dev-tr');
  });
  after(async () => {
    await fx?.stop();
    await mem?.stop();
  });

  const connectSpan = (clientId: string, nth = 0) =>
    waitFor(() => mem.spans().filter((s) => s.name === SpanNames.Connect && s.attributes['twoway.mqtt.client_id'] === clientId)[nth], { what: `connect span of ${clientId}` });
  const inTrace = (root: FinishedSpan) => mem.spans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
  const childrenOf = (parent: FinishedSpan) => mem.spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
  const attempt = async (o: Parameters<Fixture['attempt']>[0]) => {
    const a = await fx.attempt(o);
    await fx.end(a);
    return a;
  };

  it('cold caches: connect → CLIENT credential.verify and trust_set → the owner\'s SERVER spans, one trace id', async () => {
    const a = await attempt({ device, clientId: 'dev-tr', username: 'dev-tr', password: PASSWORD });
    assert.equal(a.connack?.returnCode, 0);
    const connect = await connectSpan('dev-tr');
    assert.equal(connect.kind, SpanKind.SERVER);
    assert.equal(connect.parentSpanContext, undefined, 'a connect roots its trace');
    assert.deepEqual(connect.attributes, {
      'twoway.mqtt.client_id': 'dev-tr',
      'twoway.connect.transport': 'tls',
      'twoway.connect.outcome': 'accepted',
      'twoway.connect.reason': 'MUTUAL_TLS',
      'twoway.connect.mode': 'mutual',
      'twoway.connect.certificate': 'trusted',
      'twoway.account.id': 'acc-tr',
      'twoway.cache.hits': 0,
      'twoway.cache.misses': 2,
    });
    assert.equal(connect.status.code, SpanStatusCode.UNSET);

    const clients = childrenOf(connect);
    assert.deepEqual(clients.map((c) => [c.kind, c.name, c.attributes['messaging.destination.name']]), [
      [SpanKind.CLIENT, SpanNames.NatsRequest, RequestSubjects.CredentialVerify],
      [SpanKind.CLIENT, SpanNames.NatsRequest, RequestSubjects.TrustSetGet],
    ]);
    for (const c of clients) {
      const servers = await waitFor(() => (childrenOf(c).length ? childrenOf(c) : undefined), { what: `handling of ${c.attributes['messaging.destination.name']}` });
      assert.deepEqual(servers.map((s) => [s.kind, s.name, s.attributes['messaging.destination.name']]), [[SpanKind.SERVER, SpanNames.NatsHandle, c.attributes['messaging.destination.name']]]);
    }
    assert.equal(inTrace(connect).length, 5);

    // The audit event and the trace agree.
    const ev = await fx.auditFor('dev-tr', 'connect.accepted');
    assert.equal(ev.traceId, connect.spanContext().traceId);
  });

  it('warm caches: the next connect answers from the caches, no NATS request in its trace', async () => {
    await attempt({ device, clientId: 'dev-tr', username: 'dev-tr', password: PASSWORD });
    const connect = await connectSpan('dev-tr', 1);
    assert.equal(connect.attributes['twoway.cache.hits'], 3);
    assert.equal(connect.attributes['twoway.cache.misses'], 0);
    assert.deepEqual(inTrace(connect).map((s) => s.name), [SpanNames.Connect]);
  });

  it('a refusal is an outcome, not an error; the reason is on the span', async () => {
    const a = await attempt({ device, clientId: 'dev-tr-wrong', username: 'dev-tr', password: 'wrong password' });
    assert.equal(a.connack?.returnCode, 4);
    const connect = await connectSpan('dev-tr-wrong');
    assert.equal(connect.attributes['twoway.connect.outcome'], 'rejected');
    assert.equal(connect.attributes['twoway.connect.reason'], 'BAD_CREDENTIALS');
    assert.equal(connect.status.code, SpanStatusCode.UNSET);
    const ev = await fx.auditFor('dev-tr-wrong', 'connect.rejected');
    assert.equal(ev.traceId, connect.spanContext().traceId);
  });

  it('an owner that does not answer: UNDECIDABLE, the connect and its request marked failed', async () => {
    fx.credentials.set('dev-slow', { accountId: 'acc-tr', id: 'cred-slow', delayMs: 2_500 });
    const a = await attempt({ clientId: 'dev-slow', username: 'dev-slow', password: PASSWORD });
    assert.equal(a.connack?.returnCode, 5);
    const connect = await connectSpan('dev-slow');
    assert.equal(connect.attributes['twoway.connect.reason'], 'UNDECIDABLE');
    assert.equal(connect.status.code, SpanStatusCode.ERROR);
    const [req] = childrenOf(connect);
    assert.equal(req!.attributes['twoway.error.code'], 'UNAVAILABLE');
  });

  it('a CHANGES event is a CONSUMER span in the trace of the write that published it, saying what it ended', async () => {
    const live = await fx.attempt({ device, clientId: 'dev-tr-live', username: 'dev-tr', password: PASSWORD });
    assert.equal(live.connack?.returnCode, 0);
    const closed = new Promise<void>((r) => live.client.once('close', () => r()));
    const traceId = randomBytes(16).toString('hex');
    const writeSpanId = randomBytes(8).toString('hex');
    const entry = fx.registry.find((e) => e.id === 'root')!;
    entry.status = 'SUSPENDED';
    await fx.bus.publishEvent(
      ChangeSubjects.CertStatusChanged,
      { id: randomUUID(), type: 'cert.status_changed', time: new Date().toISOString(), account: entry.accountId, actor: { kind: 'token', id: 'tok-tr' }, data: { certificateId: 'root', fingerprint: entry.fingerprint, before: 'VALID', after: 'SUSPENDED' } } as { id: string },
      `00-${traceId}-${writeSpanId}-01`,
    );
    try {
      await closed;
      const span = await waitFor(() => mem.spans().find((x) => x.name === SpanNames.Revocation && x.spanContext().traceId === traceId), { what: 'the revocation span' });
      assert.equal(span.kind, SpanKind.CONSUMER);
      // write → its publish (PRODUCER, by the Bus) → this replica applying it (CONSUMER)
      const publish = mem.spans().find((x) => x.spanContext().spanId === span.parentSpanContext?.spanId);
      assert.equal(publish?.name, SpanNames.NatsPublish);
      assert.equal(publish?.parentSpanContext?.spanId, writeSpanId);
      assert.deepEqual(span.attributes, { 'twoway.change.type': 'cert.status_changed', 'twoway.sessions.ended': 1, 'twoway.account.id': entry.accountId });
    } finally {
      await fx.setCertStatus('root', 'VALID');
      await fx.end(live);
    }
  });

  it('no span records a password, a certificate or a payload', () => {
    const values = mem.spans().flatMap((s) => Object.values(s.attributes).map(String));
    assert.ok(values.length > 0);
    for (const v of values) {
      assert.ok(!v.includes(PASSWORD) && !v.includes('wrong password'), `a password in ${v}`);
      assert.ok(!v.includes('BEGIN CERTIFICATE') && !v.includes(device.cert.fingerprint) && !v.includes('CN='), `certificate material in ${v}`);
    }
  });
});
