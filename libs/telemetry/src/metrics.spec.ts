// ServiceMetrics as /metrics shows it: the Prometheus names dashboards use, labels as written, the
// histogram buckets declared, nothing else of OTel's naming (no scope labels, no unit suffixes).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, ServiceMetrics, prometheusName } from './index.js';

/** The sample lines of an exposition (no comments). */
const samples = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
/** This test's families as a scrape shows them: `# TYPE` lines (name and type), then samples. */
async function scrape(m: ServiceMetrics): Promise<{ types: string[]; lines: string[] }> {
  const text = await m.render();
  const ours = text.split('\n').filter((l) => l.includes('twoway_unit_'));
  return { types: ours.filter((l) => l.startsWith('# TYPE ')).map((l) => l.slice('# TYPE '.length)), lines: samples(ours.join('\n')) };
}

describe('ServiceMetrics', () => {
  it('a counter renders as <name>_total with its labels as written, one series per label set', async () => {
    const m = new ServiceMetrics('unit');
    const c = m.counter('twoway_unit_decisions_total', 'Decisions by outcome and reason');
    c.inc({ outcome: 'accepted', reason: 'MUTUAL_TLS' });
    c.inc({ reason: 'MUTUAL_TLS', outcome: 'accepted' }, 2);
    c.inc({ outcome: 'rejected', reason: 'CERT_REVOKED' });
    const text = await m.render();
    assert.match(text, /^# HELP twoway_unit_decisions_total Decisions by outcome and reason$/m);
    assert.match(text, /^# TYPE twoway_unit_decisions_total counter$/m);
    assert.deepEqual(samples(text).filter((l) => l.startsWith('twoway_unit_')), [
      'twoway_unit_decisions_total{outcome="accepted",reason="MUTUAL_TLS"} 3',
      'twoway_unit_decisions_total{outcome="rejected",reason="CERT_REVOKED"} 1',
    ]);
    assert.equal(c.get({ reason: 'MUTUAL_TLS', outcome: 'accepted' }), 3);
    assert.equal(c.get({ outcome: 'accepted' }), 0, 'a part of a label set is another series');
    assert.doesNotMatch(text, /otel_scope|# UNIT/);
    await m.stop();
  });

  it('keeps label values apart that a naive join would merge, and escapes them', async () => {
    const m = new ServiceMetrics('unit');
    const c = m.counter('twoway_unit_hits_total', 'Hits');
    c.inc({ cache: 'a', x: 'b' });
    c.inc({ cache: 'a,x', x: '' });
    c.inc({ cache: 'say "hi"\n' });
    assert.equal(c.get({ cache: 'a', x: 'b' }), 1);
    assert.equal(c.get({ cache: 'a,x', x: '' }), 1);
    assert.ok(samples(await m.render()).includes('twoway_unit_hits_total{cache="say \\"hi\\"\\n"} 1'));
    await m.stop();
  });

  it('a histogram renders its declared buckets (cumulative, le="+Inf"), sum and count', async () => {
    const m = new ServiceMetrics('unit');
    const h = m.histogram('twoway_unit_propagation_ms', 'Milliseconds to propagate', [1, 5, 10]);
    for (const v of [0.5, 3, 7, 7, 20]) h.observe(v);
    assert.equal(h.observations, 5);
    const { types, lines } = await scrape(m);
    assert.deepEqual(types, ['twoway_unit_propagation_ms histogram']);
    const cumulative = [['1', 1], ['5', 2], ['10', 4], ['+Inf', 5]].map(([le, n]) => `twoway_unit_propagation_ms_bucket{le="${le}"} ${n}`);
    assert.deepEqual(lines, ['twoway_unit_propagation_ms_count 5', 'twoway_unit_propagation_ms_sum 37.5', ...cumulative]);
    await m.stop();
  });

  it('a labelled histogram keeps one set of buckets per label set', async () => {
    const m = new ServiceMetrics('unit');
    const h = m.histogram('twoway_unit_duration_ms', 'Duration', [10]);
    h.observe(5, { route: '/a' });
    h.observe(50, { route: '/b' });
    const lines = samples(await m.render());
    assert.ok(lines.includes('twoway_unit_duration_ms_bucket{route="/a",le="10"} 1'), lines.join('\n'));
    assert.ok(lines.includes('twoway_unit_duration_ms_bucket{route="/b",le="10"} 0'), lines.join('\n'));
    await m.stop();
  });

  it('gauges and views are read when scraped; a counter view keeps its _total name', async () => {
    const m = new ServiceMetrics('unit');
    let live = 2;
    m.gauge('twoway_unit_sessions', 'Live sessions', () => live);
    m.view('twoway_unit_evictions_total', 'Evictions by cause', 'counter', () => [{ labels: { cause: 'bound' }, value: 4 }, { labels: { cause: 'ttl' }, value: 0 }]);
    m.view('twoway_unit_entries', 'Entries by cache', 'gauge', () => [{ labels: { cache: 'trust' }, value: 9 }]);
    live = 3;
    const { types, lines } = await scrape(m);
    assert.deepEqual(types, ['twoway_unit_sessions gauge', 'twoway_unit_evictions_total counter', 'twoway_unit_entries gauge']);
    assert.deepEqual(lines, ['twoway_unit_sessions 3', 'twoway_unit_evictions_total{cause="bound"} 4', 'twoway_unit_evictions_total{cause="ttl"} 0', 'twoway_unit_entries{cache="trust"} 9']);
    await m.stop();
  });

  it('declared fields record once registered; each ServiceMetrics has its own series; target_info names the service', async () => {
    class Declared {
      readonly a = new Counter('twoway_unit_a_total', 'A');
      readonly h = new Histogram('twoway_unit_h_ms', 'H', [1]);
      readonly other = 'not a metric';
    }
    const one = new ServiceMetrics('one');
    const two = new ServiceMetrics('two');
    const d1 = new Declared();
    const d2 = new Declared();
    one.registerFields(d1);
    two.registerFields(d2);
    d1.a.inc();
    d2.a.inc({}, 5);
    assert.ok(samples(await one.render()).includes('twoway_unit_a_total 1'));
    assert.ok(samples(await two.render()).includes('twoway_unit_a_total 5'));
    assert.match(await one.render(), /^target_info\{service_name="twoway-one",/m);
    assert.throws(() => one.register(d1.a), /twoway_unit_a_total is registered twice/);
    await Promise.all([one.stop(), two.stop()]);
  });

  it('prometheusName turns a telemetry name into its Prometheus form', () => {
    assert.equal(prometheusName('twoway.broker.cache_hits'), 'twoway_broker_cache_hits');
  });
});
