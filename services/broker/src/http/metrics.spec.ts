import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Counter } from '@twoway/telemetry';
import { BrokerMetrics } from './metrics.js';

describe('BrokerMetrics counters', () => {
  it('count one series per label set, whatever the order of the names', async () => {
    const m = new BrokerMetrics();
    m.decisions.inc({ outcome: 'accepted', reason: 'MUTUAL_TLS' });
    m.decisions.inc({ reason: 'MUTUAL_TLS', outcome: 'accepted' }, 2);
    m.decisions.inc({ outcome: 'rejected', reason: 'MUTUAL_TLS' });
    m.auditDropped.inc();
    assert.equal(m.decisions.get({ reason: 'MUTUAL_TLS', outcome: 'accepted' }), 3);
    assert.equal(m.decisions.get({ outcome: 'rejected', reason: 'MUTUAL_TLS' }), 1);
    assert.equal(m.decisions.get({ outcome: 'rejected' }), 0);
    assert.equal(m.auditDropped.get(), 1);
    const text = await m.render();
    assert.match(text, /^twoway_broker_decisions_total\{outcome="accepted",reason="MUTUAL_TLS"\} 3$/m);
    assert.match(text, /^twoway_broker_audit_dropped_total 1$/m);
    await m.registry.stop();
  });

  it('keep label values apart that a naive join would merge', async () => {
    const m = new BrokerMetrics();
    m.cacheHits.inc({ cache: 'a', x: 'b' });
    m.cacheHits.inc({ cache: 'a,x', x: '' });
    assert.equal(m.cacheHits.get({ cache: 'a', x: 'b' }), 1);
    await m.registry.stop();
  });

  it('every counter shows at /metrics under the name dashboards use', async () => {
    const m = new BrokerMetrics();
    const counters = Object.values(m).filter((v): v is Counter => v instanceof Counter);
    assert.ok(counters.length >= 12);
    for (const c of counters) c.inc({ reason: 'X' });
    const text = await m.render();
    for (const c of counters) {
      assert.match(c.name, /^twoway_broker_[a-z_]+_total$/);
      assert.ok(text.includes(`# TYPE ${c.name} counter\n${c.name}{reason="X"} 1\n`), `${c.name} in\n${text}`);
    }
    await m.registry.stop();
  });

  it('the revocation propagation histogram keeps its buckets', async () => {
    const m = new BrokerMetrics();
    m.revocationPropagationMs.observe(3);
    m.revocationPropagationMs.observe(15_000);
    const lines = (await m.render()).split('\n').filter((l) => l.startsWith('twoway_broker_revocation_propagation_ms'));
    assert.deepEqual(lines, [
      'twoway_broker_revocation_propagation_ms_count 2',
      'twoway_broker_revocation_propagation_ms_sum 15003',
      ...[1, 2].map((le) => `twoway_broker_revocation_propagation_ms_bucket{le="${le}"} 0`),
      ...[5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].map((le) => `twoway_broker_revocation_propagation_ms_bucket{le="${le}"} 1`),
      'twoway_broker_revocation_propagation_ms_bucket{le="+Inf"} 2',
    ]);
    assert.equal(m.revocationPropagationMs.observations, 2);
    await m.registry.stop();
  });
});
