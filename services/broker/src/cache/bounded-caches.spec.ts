// The broker's warm caches at their bounds: the least recently used entry leaves, one at a time,
// expired credentials are swept, and nothing is emptied at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TrustEntry } from '@twoway/contracts';
import { CredentialCache, type VerifiedCredential } from './credential-cache.js';
import { SettingsCache } from './settings-cache.js';
import { TrustCache } from './trust-cache.js';

const cred = (n: number, verifiedAtMs: number): VerifiedCredential => ({
  accountId: 'acc', credentialId: `c${n}`, username: `u${n}`, key: `u${n}`, keyKind: 'username', requireCertificate: false, verifiedAtMs,
});
const settings = (accountId: string) => ({
  accountId, ancestry: [accountId],
  settings: { tls: { enabled: true }, mutualTls: { available: true, enabled: true }, identity: { bindCertificateTo: 'none', credentialLookup: 'username' } },
}) as const;

describe('CredentialCache', () => {
  it('given a full cache, a new credential evicts only the least recently used one', () => {
    const c = new CredentialCache(60_000, 3);
    for (const n of [1, 2, 3]) c.put('pw', cred(n, 0), c.generation.current);
    assert.ok(c.get('u1', 'pw', 1)); // u1 is now the most recent: u2 is the oldest
    c.put('pw', cred(4, 1), c.generation.current);
    assert.equal(c.size, 3);
    assert.equal(c.evictions, 1);
    assert.equal(c.get('u2', 'pw', 2), undefined);
    for (const n of [1, 3, 4]) assert.ok(c.get(`u${n}`, 'pw', 2), `u${n} is still cached`);
  });

  it('given expired entries nobody reads, a sweep drops them and keeps the fresh ones', () => {
    const c = new CredentialCache(1_000, 100);
    for (let n = 0; n < 10; n++) c.put('pw', cred(n, n < 6 ? 0 : 900), c.generation.current);
    assert.equal(c.sweep(1_500), 6);
    assert.equal(c.size, 4);
    assert.equal(c.expired, 6);
    assert.equal(c.evictions, 0, 'expiry is not counted as an eviction');
  });

  it('given an expired least recently used entry, a fill drops it before taking room', () => {
    const c = new CredentialCache(1_000, 100);
    c.put('pw', cred(1, 0), c.generation.current);
    c.put('pw', cred(2, 5_000), c.generation.current);
    assert.equal(c.size, 1);
    assert.equal(c.expired, 1);
  });
});

describe('SettingsCache', () => {
  it('given a bound of 2, a third account evicts the least recently used', () => {
    const s = new SettingsCache(2);
    s.put(settings('a'), 0);
    s.put(settings('b'), 0);
    s.get('a');
    s.put(settings('c'), 0);
    assert.equal(s.get('b'), undefined);
    assert.ok(s.get('a') && s.get('c'));
    assert.equal(s.evictions, 1);
  });
});

describe('TrustCache', () => {
  const entries = (n: number): TrustEntry[] =>
    Array.from({ length: n }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, accountId: 'acc', fingerprint: `fp${i}`, status: 'VALID', kind: 'root', pem: 'not a certificate' }));

  it('given more registrations than its bound, keeps the parsed ones bounded (and the sets too)', () => {
    let parseErrors = 0;
    const t = new TrustCache({ sets: 2, parsed: 5, revocationLists: 2 }, () => parseErrors++);
    t.put(t.build(['a'], entries(8)), t.generation.current);
    assert.equal(t.parsedSize, 5);
    assert.equal(t.evictions.parsed, 3);
    t.put(t.build(['b'], []), t.generation.current);
    t.put(t.build(['c'], []), t.generation.current);
    assert.equal(t.size, 2);
    assert.equal(t.get(['a']), undefined, 'the least recently used set left');
    assert.equal(t.evictions.sets, 1);
    assert.equal(parseErrors, 8);
  });
});
