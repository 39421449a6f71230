// Traces across processes, exported the way an operator would collect them: `twoway up` with
// TWOWAY_OTEL_ENABLED=true and OTLP/HTTP to a receiver this test runs. One device connect is one
// trace (broker → NATS → account-settings and cert-registry); one REST write is one trace
// (gateway → cert-registry → its token check over NATS → the outbox publish of its events).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RequestSubjects, ChangeSubjects } from '@twoway/contracts';
import { System, makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import { tryConnect } from './support/mqtt.js';
import { OtlpKind, OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

describe('traces: one connect, one REST write, each one trace across the services', { timeout: 240_000 }, () => {
  let otlp: OtlpReceiver;
  let sys: System;
  let pki: TestPki;
  let accountId: string;
  const password = 'correct horse battery staple';

  before(async () => {
    otlp = await OtlpReceiver.start();
    sys = await System.start({
      env: {
        TWOWAY_OTEL_ENABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      },
    });
    pki = await makeTestPki({ fresh: true });
    const acc = await sys.api<{ id: string }>('POST', '/api/v1/accounts', { name: 'traced-fleet' });
    assert.equal(acc.status, 201, JSON.stringify(acc.body));
    accountId = acc.body.id;
    assert.equal((await sys.api('PUT', `/api/v1/accounts/${accountId}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } })).status, 200);
    assert.equal((await sys.api('POST', `/api/v1/accounts/${accountId}/credentials`, { username: 'sensor-t', password })).status, 201);
  });
  after(async () => {
    await sys?.stop();
    await otlp?.stop();
  });

  const find = (what: string, f: (s: ReceivedSpan) => boolean) => waitFor(() => otlp.spans.find(f), { timeoutMs: 15_000, what });
  const childOf = (what: string, parent: ReceivedSpan, f: (s: ReceivedSpan) => boolean) =>
    find(what, (s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId && f(s));

  it('a REST write: the caller\'s traceparent → gateway → cert-registry → token check → outbox publish', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const r = await fetch(`${sys.apiUrl}/api/v1/accounts/${accountId}/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sys.token}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ name: 'fleet root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem }),
    });
    assert.equal(r.status, 201, await r.text());

    const gateway = await find('gateway span', (s) => s.service === 'twoway-gateway' && s.traceId === traceId);
    assert.deepEqual([gateway.name, gateway.kind, gateway.parentSpanId], ['twoway.http.request', OtlpKind.SERVER, callerSpan]);
    const registry = await childOf('cert-registry HTTP span', gateway, (s) => s.service === 'twoway-cert-registry');
    assert.equal(registry.name, 'twoway.http.request');
    assert.equal(registry.attributes['http.route'], '/api/v1/accounts/:id/certificates');
    assert.equal(registry.attributes['http.response.status_code'], 201);

    const tokenCheck = await childOf('token check request', registry, (s) => s.kind === OtlpKind.CLIENT && s.attributes['messaging.destination.name'] === RequestSubjects.TokenVerify);
    const answered = await childOf('token check handled', tokenCheck, (s) => s.service === 'twoway-account-settings');
    assert.deepEqual([answered.name, answered.kind], ['twoway.nats.handle', OtlpKind.SERVER]);

    // The outbox row stored the request's traceparent; the relay's publish joins that trace.
    const published = await childOf('cert.added published', registry, (s) => s.kind === OtlpKind.PRODUCER && s.attributes['messaging.destination.name'] === ChangeSubjects.CertAdded);
    assert.equal(published.name, 'twoway.nats.publish');
  });

  it('a device connect: broker connect span → CLIENT requests → SERVER spans in account-settings and cert-registry', async () => {
    const dev = await pki.device('sensor-t');
    const c = await tryConnect(sys.mqttPort, { ca: await readFile(sys.caFile, 'utf8'), cert: dev.chainPem, key: dev.keyPem }, { clientId: 'sensor-t', username: 'sensor-t', password });
    assert.equal(c.connected, true, c.error);
    c.client?.end(true);

    const connect = await find('connect span', (s) => s.service === 'twoway-broker' && s.name === 'twoway.broker.connect' && s.attributes['twoway.mqtt.client_id'] === 'sensor-t');
    assert.equal(connect.kind, OtlpKind.SERVER);
    assert.equal(connect.parentSpanId, undefined);
    assert.equal(connect.attributes['twoway.connect.outcome'], 'accepted');
    assert.equal(connect.attributes['twoway.connect.reason'], 'MUTUAL_TLS');
    assert.equal(connect.attributes['twoway.account.id'], accountId);
    assert.equal(typeof connect.attributes['twoway.cache.hits'], 'number');

    const verify = await childOf('credential verify request', connect, (s) => s.kind === OtlpKind.CLIENT && s.attributes['messaging.destination.name'] === RequestSubjects.CredentialVerify);
    const verified = await childOf('credential verify handled', verify, () => true);
    assert.deepEqual([verified.service, verified.name, verified.kind], ['twoway-account-settings', 'twoway.nats.handle', OtlpKind.SERVER]);

    const trust = await childOf('trust set request', connect, (s) => s.kind === OtlpKind.CLIENT && s.attributes['messaging.destination.name'] === RequestSubjects.TrustSetGet);
    const trustAnswered = await childOf('trust set handled', trust, () => true);
    assert.deepEqual([trustAnswered.service, trustAnswered.name, trustAnswered.kind], ['twoway-cert-registry', 'twoway.nats.handle', OtlpKind.SERVER]);

    // The audit trail names the same trace.
    const ev = await waitFor(
      async () => {
        const r = await sys.api<{ items: { traceId?: string }[] }>('GET', `/api/v1/accounts/${accountId}/audit?type=connect.accepted&clientId=sensor-t`);
        return r.body.items?.[0];
      },
      { timeoutMs: 15_000, what: 'the connect in the audit trail' },
    );
    assert.equal(ev.traceId, connect.traceId);

    // Nothing secret left the services in any span.
    const values = otlp.spans.flatMap((s) => Object.values(s.attributes).map(String));
    for (const v of values) assert.ok(!v.includes(password) && !v.includes('BEGIN') && !v.includes(sys.token), v);
  });
});
