// The pki caches at their bound: one entry leaves per new one (least recently used), never all at once.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { configurePkiCaches, pkiCacheStats, PkiCacheDefaults } from './caches.js';
import { parseDer } from './certificate.js';
import { createRootCa, issueDeviceCert } from './issue.js';
import { validateChainSync, AnchorSet } from './validate.js';

const stat = (name: string) => pkiCacheStats().find((s) => s.name === name)!;

describe('pki caches', () => {
  after(() => configurePkiCaches(PkiCacheDefaults));

  test('given parsed-certificate and signature caches at a bound of 2, a third entry evicts one and keeps the most recent', async () => {
    const root = await createRootCa({ commonName: 'Cache Root' });
    const devs = await Promise.all([1, 2, 3].map((i) => issueDeviceCert({ issuer: root, commonName: `cache-dev-${i}` })));
    configurePkiCaches({ parsedCertificates: 0, signatures: 0 }); // empty, then bounded at 2
    configurePkiCaches({ parsedCertificates: 2, signatures: 2 });
    const p0 = stat('parsedCertificates').evictions;
    const [a, b, c] = devs.map((d) => d.cert.der);
    const pa = parseDer(a!);
    parseDer(b!);
    assert.equal(parseDer(a!), pa, 'a is a hit (and now the most recent)');
    parseDer(c!); // evicts b, the least recently used
    assert.equal(stat('parsedCertificates').evictions - p0, 1);
    assert.equal(stat('parsedCertificates').size, 2);
    assert.equal(parseDer(a!), pa, 'the most recently used survived the eviction');

    const s0 = stat('signatures').evictions;
    const anchors = new AnchorSet([root.cert]);
    for (const d of devs) assert.equal(validateChainSync({ leaf: parseDer(d.cert.der), untrusted: [], anchors, at: new Date(), purpose: 'client' }).valid, true);
    assert.equal(stat('signatures').size, 2);
    assert.ok(stat('signatures').evictions - s0 >= 1);
  });

  test('shrinking a bound evicts down to it at once', () => {
    configurePkiCaches({ certFacts: 1 });
    assert.ok(stat('certFacts').size <= 1);
    assert.equal(stat('certFacts').max, 1);
  });
});
