import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DAY_MS } from '@twoway/contracts';
import { createRootCa, issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { ExpiryAuditLimiter, expiringOnPath, type ExpiringCert } from './expiry.js';

describe('expiringOnPath', () => {
  const now = Date.now();
  let root: Issued;
  let inter: Issued;
  let leaf: Issued;
  let longLeaf: Issued;
  before(async () => {
    root = await createRootCa({ commonName: 'root ending in 15 days', days: 15 });
    inter = await issueIntermediateCa({ issuer: root, commonName: 'intermediate ending in 12 days', days: 12 });
    leaf = await issueDeviceCert({ issuer: inter, commonName: 'sensor ending in 5 days', notAfter: new Date(now + 5.5 * DAY_MS) });
    longLeaf = await issueDeviceCert({ issuer: inter, commonName: 'sensor with a year', notAfter: new Date(now + 365 * DAY_MS) });
  });
  const fp = (...c: Issued[]) => c.map((x) => x.cert.fingerprint);
  const roles = (r: ExpiringCert[]) => r.map((c) => [c.role, c.subject, c.daysLeft]);

  it('given leaf and intermediate within the window, then both, and not the anchor the path ends at', () => {
    const r = expiringOnPath(fp(leaf, inter, root), [leaf.cert, inter.cert, root.cert], now, 30);
    assert.deepEqual(roles(r), [['leaf', leaf.cert.subject, 5], ['intermediate', inter.cert.subject, 11]]);
    assert.deepEqual(r[0]!.notAfter, leaf.cert.notAfter);
  });
  it('given a smaller window, then only what ends within it', () => {
    assert.deepEqual(roles(expiringOnPath(fp(leaf, inter, root), [leaf.cert, inter.cert], now, 7)), [['leaf', leaf.cert.subject, 5]]);
  });
  it('given a leaf with a year left below an expiring intermediate, then the intermediate only', () => {
    assert.deepEqual(roles(expiringOnPath(fp(longLeaf, inter, root), [longLeaf.cert, inter.cert], now, 30)), [['intermediate', inter.cert.subject, 11]]);
  });
  it('given a path that ends at a registered intermediate, then the leaf only (the anchor is the registry’s)', () => {
    assert.deepEqual(roles(expiringOnPath(fp(leaf, inter), [leaf.cert], now, 30)), [['leaf', leaf.cert.subject, 5]]);
  });
  it('given a pinned leaf (a path of one), then the leaf', () => {
    assert.deepEqual(roles(expiringOnPath(fp(leaf), [leaf.cert], now, 30)), [['leaf', leaf.cert.subject, 5]]);
  });
  it('given nothing within the window, then nothing', () => {
    assert.deepEqual(expiringOnPath(fp(longLeaf, inter, root), [longLeaf.cert, inter.cert], now, 3), []);
  });
});

describe('ExpiryAuditLimiter', () => {
  const cert = (fingerprint: string): ExpiringCert => ({ role: 'leaf', fingerprint, subject: `CN=${fingerprint}`, notAfter: new Date(0), daysLeft: 3 });
  const due = (l: ExpiryAuditLimiter, at: number, ...fps: string[]) => l.due(fps.map(cert), at).map((c) => c.fingerprint);
  const HOUR = 3_600_000;

  it('given a certificate audited at t, then it is not due again before t + interval, and is at t + interval', () => {
    const l = new ExpiryAuditLimiter(10, HOUR);
    assert.deepEqual(due(l, 0, 'a'), ['a']);
    assert.deepEqual(due(l, HOUR - 1, 'a'), []);
    assert.equal(l.suppressed, 1);
    assert.deepEqual(due(l, HOUR, 'a'), ['a']);
    assert.deepEqual(due(l, HOUR + 1, 'a'), []);
    assert.equal(l.suppressed, 2);
  });

  it('given a shared intermediate already audited and a new leaf below it, then only the leaf is due', () => {
    const l = new ExpiryAuditLimiter(10, HOUR);
    due(l, 0, 'leaf-1', 'inter');
    assert.deepEqual(due(l, 10, 'leaf-2', 'inter'), ['leaf-2']);
    assert.deepEqual([l.size, l.suppressed], [3, 1]);
  });

  it('given more certificates than the bound, then the one seen least recently is forgotten, counted, and due again', () => {
    const l = new ExpiryAuditLimiter(2, HOUR);
    due(l, 0, 'a');
    due(l, 1, 'b');
    assert.deepEqual(due(l, 2, 'a'), [], 'a seen again: suppressed, and now the most recently used');
    due(l, 3, 'c');
    assert.deepEqual([l.size, l.evictions], [2, 1]);
    assert.deepEqual(due(l, 4, 'a'), [], 'a stayed');
    assert.deepEqual(due(l, 5, 'b'), ['b'], 'b was forgotten: audited again before its interval');
  });
});
