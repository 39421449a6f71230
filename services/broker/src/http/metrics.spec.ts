import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerMetrics } from './metrics.js';

describe('BrokerMetrics counters', () => {
  it('count one series per label set, whatever the order of the names', () => {
    const m = new BrokerMetrics();
    m.decisions.inc({ outcome: 'accepted', reason: 'MUTUAL_TLS' });
    m.decisions.inc({ reason: 'MUTUAL_TLS', outcome: 'accepted' }, 2);
    m.decisions.inc({ outcome: 'rejected', reason: 'MUTUAL_TLS' });
    m.auditDropped.inc();
    assert.equal(m.decisions.get({ reason: 'MUTUAL_TLS', outcome: 'accepted' }), 3);
    assert.equal(m.decisions.get({ outcome: 'rejected', reason: 'MUTUAL_TLS' }), 1);
    assert.equal(m.decisions.get({ outcome: 'rejected' }), 0);
    assert.equal(m.auditDropped.get(), 1);
    const text = m.render();
    assert.match(text, /^twoway_broker_decisions_total\{outcome="accepted",reason="MUTUAL_TLS"\} 3$/m);
    assert.match(text, /^twoway_broker_audit_dropped_total 1$/m);
  });

  it('keep label values apart that a naive join would merge', () => {
    const m = new BrokerMetrics();
    m.cacheHits.inc({ cache: 'a', x: 'b' });
    m.cacheHits.inc({ cache: 'a,x', x: '' });
    assert.equal(m.cacheHits.get({ cache: 'a', x: 'b' }), 1);
  });
});
