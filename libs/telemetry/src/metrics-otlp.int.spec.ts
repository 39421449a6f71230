// Telemetry on (TWOWAY_OTEL_ENABLED): a service's metrics are pushed over OTLP as well as served at
// /metrics, to OTEL_EXPORTER_OTLP_ENDPOINT, here a local receiver. Off: no reader besides /metrics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServiceMetrics, startTelemetry } from './index.js';

describe('metrics over OTLP', () => {
  it('off: metricReaders() is empty', async () => {
    const t = await startTelemetry('unit', false);
    assert.deepEqual(t.metricReaders(), []);
    await t.stop();
  });

  it('on: the last push at stop carries the instruments, under the service name', async (t) => {
    const bodies: { url?: string; type?: string; body: Buffer }[] = [];
    const read = (req: IncomingMessage) => new Promise<Buffer>((r) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => r(Buffer.concat(chunks)));
    });
    const receiver = createServer((req, res) => {
      void read(req).then((body) => {
        bodies.push({ url: req.url, type: req.headers['content-type'], body });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => receiver.close(() => r())));
    Object.assign(process.env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    });
    const telemetry = await startTelemetry('unit', true);
    t.after(() => telemetry.stop());
    const m = new ServiceMetrics('unit', { telemetry });
    m.counter('twoway_unit_pushed_total', 'Pushed').inc({ reason: 'MUTUAL_TLS' });
    await m.stop();
    const push = bodies.find((b) => b.url === '/v1/metrics');
    assert.ok(push, `no push to /v1/metrics (got ${bodies.map((b) => b.url).join(', ') || 'nothing'})`);
    assert.equal(push.type, 'application/x-protobuf');
    // Protobuf keeps strings as UTF-8: the OTel name (no `_total`), its label and the service are in the body.
    for (const s of ['twoway_unit_pushed', 'MUTUAL_TLS', 'twoway-unit']) assert.ok(push.body.includes(s), `${s} in the push`);
    assert.ok(!push.body.includes('twoway_unit_pushed_total'));
  });
});
