// Trust sets updated in place by change events: one registration's work per change, the same answers
// as a set fetched afresh, events older than the fetch ignored, and a set that cannot take a change
// dropped (fetched again on the next connect).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import type { CertStatus, TrustEntry } from '@twoway/contracts';
import { makeTestPki } from '@twoway/testing';
import { craftCertificateDer, Ext, EKU, normalizeSerial, parseSinglePem, testKey, toPem, validateChainSync, type NameSpec } from '@twoway/pki';
import { TrustCache, TrustSet, type CertChange, type RevocationChange, type RevokedSerials } from './trust-cache.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('TrustCache: change events applied in place', () => {
  let pems: { root: string; inter: string; leaf: string };
  before(async () => {
    const pki = await makeTestPki();
    pems = { root: pki.root.certPem, inter: pki.intermediate.certPem, leaf: (await pki.device('pinned')).certPem };
  });
  const fp = (pem: string) => parseSinglePem(pem).fingerprint;
  const entry = (id: string, accountId: string, pem: string, status: CertStatus = 'VALID', updatedAtMs = T0): TrustEntry => ({
    id, accountId, fingerprint: fp(pem), status, kind: 'root', pem, updatedAt: iso(updatedAtMs),
  });
  const status = (id: string, account: string, after: CertStatus, timeMs: number): CertChange => ({ type: 'cert.status_changed', account, certificateId: id, after, timeMs });
  function cacheWith(entries: TrustEntry[], ancestry = ['acc', 'provider']) {
    const c = new TrustCache({ sets: 10, parsed: 100, revocationLists: 10 });
    const set = c.build(ancestry, entries);
    c.put(set, c.generation.current);
    return { c, set };
  }

  it('a fetched set loaded in slices: the event loop turns while it is indexed, and the set equals one built at once, digest included', async () => {
    // 350 registrations (distinct ids, the same certificates): three yields at 100 a slice.
    const entries = Array.from({ length: 350 }, (_, i) => entry(`e${String(i).padStart(3, '0')}`, 'acc', [pems.root, pems.inter, pems.leaf][i % 3]!));
    const c = new TrustCache({ sets: 10, parsed: 100, revocationLists: 10 });
    const set = c.empty(['acc']);
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await c.loadSlices(set, entries);
    ticking = false;
    assert.ok(turns >= 3, `the event loop turned ${turns} times during the load`);
    const whole = c.build(['acc'], entries);
    assert.equal(set.size, 350);
    assert.deepEqual(set.digest(), whole.digest());
    assert.equal(set.validAnchors.has(fp(pems.inter)), true);
  });

  it('given a suspension, then the cached set answers SUSPENDED at once, without a refetch, and VALID again after the restore', () => {
    const { c, set } = cacheWith([entry('r', 'provider', pems.root), entry('i', 'acc', pems.inter)]);
    assert.deepEqual(c.applyCertChange(status('i', 'acc', 'SUSPENDED', T0 + 1)), [], 'nothing dropped');
    assert.equal(c.get(['acc', 'provider']), set, 'the same set stays cached');
    assert.equal(set.statusOf(fp(pems.inter)), 'SUSPENDED');
    assert.equal(set.validAnchors.has(fp(pems.inter)), false, 'no longer an anchor a first validation may use');
    assert.equal(set.hasNonValid, true);
    assert.equal(set.allAnchors.has(fp(pems.inter)), true, 'still known, to name the reason');
    c.applyCertChange(status('i', 'acc', 'VALID', T0 + 2));
    assert.equal(set.statusOf(fp(pems.inter)), 'VALID');
    assert.equal(set.validAnchors.has(fp(pems.inter)), true);
    assert.equal(set.hasNonValid, false);
  });

  it('given an event older than what the set was fetched with (the feed lags), then it is ignored', () => {
    // Fetched after a restore at T0+10; the suspension of T0+5 arrives only now.
    const { c, set } = cacheWith([entry('i', 'acc', pems.inter, 'VALID', T0 + 10)]);
    c.applyCertChange(status('i', 'acc', 'SUSPENDED', T0 + 5));
    assert.equal(set.statusOf(fp(pems.inter)), 'VALID');
    // And the other way round: a set fetched with SUSPENDED at T0+10 is not reopened by a restore of T0+5.
    const b = cacheWith([entry('i', 'acc', pems.inter, 'SUSPENDED', T0 + 10)]);
    b.c.applyCertChange(status('i', 'acc', 'VALID', T0 + 5));
    assert.equal(b.set.statusOf(fp(pems.inter)), 'SUSPENDED');
    assert.equal(b.set.validAnchors.has(fp(pems.inter)), false);
  });

  it('given the same certificate registered in two accounts of the ancestry, then the worst status wins, and deleting one leaves the other', () => {
    const { c, set } = cacheWith([entry('p', 'provider', pems.root), entry('a', 'acc', pems.root)]);
    c.applyCertChange(status('a', 'acc', 'REVOKED', T0 + 1));
    assert.equal(set.statusOf(fp(pems.root)), 'REVOKED');
    c.applyCertChange({ type: 'cert.deleted', account: 'acc', certificateId: 'a', timeMs: T0 + 2 });
    assert.equal(set.statusOf(fp(pems.root)), 'VALID', 'the provider\'s registration remains');
    assert.equal(set.validAnchors.has(fp(pems.root)), true);
    assert.equal(set.size, 1);
    c.applyCertChange({ type: 'cert.deleted', account: 'provider', certificateId: 'p', timeMs: T0 + 3 });
    assert.equal(set.statusOf(fp(pems.root)), undefined);
    assert.equal(set.validAnchors.size, 0);
    assert.equal(set.allAnchors.size, 0);
  });

  it('given a registration added with its PEM, then it becomes an anchor in place; without its PEM the set is dropped', () => {
    const { c, set } = cacheWith([entry('r', 'provider', pems.root)]);
    c.applyCertChange({ type: 'cert.added', account: 'acc', certificateId: 'leaf', fingerprint: fp(pems.leaf), status: 'VALID', pem: pems.leaf, timeMs: T0 + 1 });
    assert.equal(set.validAnchors.has(fp(pems.leaf)), true);
    assert.equal(set.size, 2);
    const dropped = c.applyCertChange({ type: 'cert.added', account: 'acc', certificateId: 'x', fingerprint: 'ab', status: 'VALID', timeMs: T0 + 2 });
    assert.deepEqual(dropped, [set]);
    assert.equal(c.get(['acc', 'provider']), undefined);
  });

  it('given a status for a registration the set does not hold, then the set is dropped rather than guessed', () => {
    const { c, set } = cacheWith([entry('r', 'provider', pems.root)]);
    assert.deepEqual(c.applyCertChange(status('unknown', 'acc', 'SUSPENDED', T0 + 1)), [set]);
    assert.equal(c.get(['acc', 'provider']), undefined);
  });

  it('given a change of an account outside the ancestry, then the set is untouched; the generation moves for fetches in flight', () => {
    const { c, set } = cacheWith([entry('r', 'provider', pems.root)]);
    const gen = c.generation.current;
    c.applyCertChange(status('r', 'other', 'SUSPENDED', T0 + 1));
    assert.equal(set.statusOf(fp(pems.root)), 'VALID');
    assert.notEqual(c.generation.current, gen);
  });

  it('given a thousand registrations, then a status change parses nothing and leaves every other answer as it was', () => {
    let parses = 0;
    const parsed = parseSinglePem(pems.leaf);
    const entries = Array.from({ length: 1000 }, (_, i) => ({ ...entry(`e${i}`, 'acc', pems.leaf), fingerprint: `fp${i}` }));
    const set = new TrustSet(['acc'], entries, () => {
      parses += 1;
      return parsed;
    });
    assert.equal(parses, 1000);
    assert.equal(set.setStatus('e500', 'SUSPENDED', T0 + 1), 'applied');
    assert.equal(parses, 1000, 'nothing parsed again');
    assert.equal(set.statusOf('fp500'), 'SUSPENDED');
    assert.equal(set.statusOf('fp499'), 'VALID');
    assert.equal(set.size, 1000);
  });
});

describe('TrustSet: registered device leaves anchor by fingerprint, parsed only when needed', () => {
  // Two certificates of one device (same subject, same key): pinned as a leaf, and issued by a registered CA.
  const deviceKey = testKey('ec-p256');
  const caKey = testKey('ec-p256');
  const caName: NameSpec = [['CN', 'leaves test CA']];
  const leafExts = [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature']), Ext.extKeyUsage([EKU.clientAuth])];
  const caPem = toPem(craftCertificateDer({ subject: caName, key: caKey, extensions: [Ext.basicConstraints(true), Ext.keyUsage(['keyCertSign', 'cRLSign'])] }));
  const pinnedPem = toPem(craftCertificateDer({ subject: [['CN', 'sensor-17']], issuer: [['CN', 'unregistered CA']], key: deviceKey, signer: testKey('ec-p256'), extensions: leafExts }));
  const twinPem = toPem(craftCertificateDer({ subject: [['CN', 'sensor-17']], issuer: caName, key: deviceKey, signer: caKey, extensions: leafExts }));
  const pinned = parseSinglePem(pinnedPem);
  const twin = parseSinglePem(twinPem);
  const entries = (leafStatus: CertStatus): TrustEntry[] => [
    { id: 'ca', accountId: 'acc', fingerprint: parseSinglePem(caPem).fingerprint, status: 'VALID', kind: 'root', pem: caPem, updatedAt: iso(T0) },
    { id: 'leaf', accountId: 'acc', fingerprint: pinned.fingerprint, status: leafStatus, kind: 'leaf', pem: pinnedPem, updatedAt: iso(T0) },
  ];
  const counting = () => {
    const parsed: string[] = [];
    return { parsed, parse: (e: { fingerprint: string; pem: string }) => (parsed.push(e.fingerprint), parseSinglePem(e.pem)) };
  };
  const admits = (set: TrustSet, cert = pinned) => validateChainSync({ leaf: cert, untrusted: [], anchors: set.validAnchors, at: new Date(), purpose: 'client' });

  it('given a VALID pinned leaf, then the set admits it without parsing it, and a chain through the CA still validates', () => {
    const { parsed, parse } = counting();
    const set = new TrustSet(['acc'], entries('VALID'), parse);
    assert.deepEqual(parsed, [parseSinglePem(caPem).fingerprint], 'only the CA was parsed');
    assert.equal(set.unparsedLeafCount, 1);
    assert.equal(admits(set).valid, true, 'the pinned leaf is its own anchor');
    assert.equal(admits(set, twin).valid, true, 'the twin through the registered CA');
    assert.equal(set.allAnchors.has(pinned.fingerprint), true);
    assert.equal(parsed.length, 1, 'still parsed nothing more');
  });

  it('given the pinned leaf suspended, then it is parsed and its twin is found by subject and key; restored, it anchors again', () => {
    const { parsed, parse } = counting();
    const set = new TrustSet(['acc'], entries('VALID'), parse);
    assert.equal(set.setStatus('leaf', 'SUSPENDED', T0 + 1), 'applied');
    assert.equal(set.unparsedLeafCount, 0, 'parsed once it is not VALID');
    assert.equal(parsed.includes(pinned.fingerprint), true);
    assert.equal(admits(set).valid, false, 'no longer an anchor');
    assert.deepEqual(set.allAnchors.sameCa(twin).map((c) => c.fingerprint), [pinned.fingerprint], 'the suspended copy of the device is found');
    set.setStatus('leaf', 'VALID', T0 + 2);
    assert.equal(admits(set).valid, true);
  });

  it('given a leaf fetched SUSPENDED, or asked for by fingerprint, then it is parsed; deleted, it anchors nothing', () => {
    const s1 = new TrustSet(['acc'], entries('SUSPENDED'), counting().parse);
    assert.equal(s1.unparsedLeafCount, 0);
    assert.deepEqual(s1.allAnchors.sameCa(twin).map((c) => c.fingerprint), [pinned.fingerprint]);
    const s2 = new TrustSet(['acc'], entries('VALID'), counting().parse);
    assert.equal(s2.certOf(pinned.fingerprint)?.fingerprint, pinned.fingerprint);
    assert.equal(admits(s2).valid, true, 'still an anchor once parsed');
    s2.remove('leaf', T0 + 1);
    assert.equal(admits(s2).valid, false);
    assert.equal(s2.allAnchors.has(pinned.fingerprint), false);
    assert.equal(s2.validAnchors.has(pinned.fingerprint), false);
  });

  it('given a leaf added by a change event with its kind, then it is pinned unparsed like a fetched one', () => {
    const c = new TrustCache({ sets: 10, parsed: 100, revocationLists: 10 });
    const set = c.build(['acc'], entries('VALID').slice(0, 1));
    c.put(set, c.generation.current);
    c.applyCertChange({ type: 'cert.added', account: 'acc', certificateId: 'leaf', fingerprint: pinned.fingerprint, status: 'VALID', kind: 'leaf', pem: pinnedPem, timeMs: T0 + 1 });
    assert.equal(set.unparsedLeafCount, 1);
    assert.equal(admits(set).valid, true);
  });
});

describe('TrustCache: a CA\'s revocation changes applied in place', () => {
  let pems: { root: string; inter: string; leaf: string };
  before(async () => {
    const pki = await makeTestPki();
    pems = { root: pki.root.certPem, inter: pki.intermediate.certPem, leaf: (await pki.device('listed')).certPem };
  });
  const parsed = (pem: string) => parseSinglePem(pem);
  const serial = () => normalizeSerial(parsed(pems.leaf).serial)!;
  const fresh = { thisUpdate: iso(T0 - 86_400_000), nextUpdate: iso(T0 + 6 * 86_400_000) };
  const stale = { thisUpdate: iso(T0 - 9 * 86_400_000), nextUpdate: iso(T0 - 2 * 86_400_000) };
  const list = (revision: number, serials: string[]): RevokedSerials => ({ certificateId: 'i', revision, bySerial: new Map(serials.map((x) => [x, 'crl' as const])) });
  const change = (revision: number, revocation: RevocationChange['revocation'], account = 'acc'): RevocationChange => ({ account, certificateId: 'i', revision, ...(revocation ? { revocation } : {}) });
  /** A cache holding one set with the intermediate at revision 1 (its CRL lists nothing of ours). */
  function cached() {
    const c = new TrustCache({ sets: 10, parsed: 100, revocationLists: 10 });
    const inter: TrustEntry = { id: 'i', accountId: 'acc', fingerprint: parsed(pems.inter).fingerprint, status: 'VALID', kind: 'intermediate', pem: pems.inter, updatedAt: iso(T0), revocation: { revision: 1, serials: 1, crl: fresh } };
    const set = c.build(['acc', 'provider'], [inter], new Map([['i', list(1, ['abcdef'])]]));
    c.put(set, c.generation.current);
    const revoked = () => set.revocation?.forIssuer(parsed(pems.inter))?.revoked(serial());
    return { c, set, revoked };
  }

  it('given a CRL that now lists the device, then the same set waits for the new list (not refetched) and refuses the serial once it has it', () => {
    const { c, set, revoked } = cached();
    assert.equal(set.complete, true);
    assert.equal(revoked(), undefined);
    const gen = c.generation.current;
    const refill = c.applyRevocationChange(change(2, { revision: 2, serials: 2, crl: fresh }));
    assert.deepEqual(refill, [set], 'returned for a background read of the list');
    assert.equal(c.get(['acc', 'provider']), set, 'still cached: nothing but the list is read again');
    assert.notEqual(c.generation.current, gen, 'a connect decided meanwhile is decided again');
    assert.deepEqual(set.pending, [{ certificateId: 'i', revision: 2 }]);
    set.putRevokedSerials(list(1, ['abcdef']));
    assert.equal(set.complete, false, 'an older list does not complete it');
    set.putRevokedSerials(list(2, ['abcdef', serial()]));
    assert.equal(set.complete, true);
    assert.equal(revoked(), 'crl');
  });

  it('given the list of that revision already cached on this replica, then the set takes it at once and needs no refill', () => {
    const { c, set, revoked } = cached();
    c.keepRevokedSerials(list(2, [serial()]));
    assert.deepEqual(c.applyRevocationChange(change(2, { revision: 2, serials: 1, crl: fresh })), []);
    assert.equal(set.complete, true);
    assert.equal(revoked(), 'crl');
  });

  it('given new CRL dates, then staleness follows at once; an event older than the revision held is ignored', () => {
    const { c, set } = cached();
    const staleCrl = () => set.revocation?.forIssuer(parsed(pems.inter))?.staleCrl(T0);
    c.keepRevokedSerials(list(3, ['abcdef']));
    c.applyRevocationChange(change(3, { revision: 3, serials: 1, crl: stale }));
    assert.deepEqual(staleCrl(), { fingerprint: parsed(pems.inter).fingerprint, nextUpdate: stale.nextUpdate });
    // The feed delivers revision 2 late (the fresh CRL it replaced): nothing changes.
    c.applyRevocationChange(change(2, { revision: 2, serials: 1, crl: fresh }));
    assert.deepEqual(staleCrl(), { fingerprint: parsed(pems.inter).fingerprint, nextUpdate: stale.nextUpdate });
    assert.equal(set.complete, true);
  });

  it('given the CA\'s CRL removed and nothing left, then the set has no revocation index; a late older event does not bring it back', () => {
    const { c, set } = cached();
    assert.deepEqual(c.applyRevocationChange(change(2, { revision: 2, serials: 0 })), []);
    assert.equal(set.revocation, undefined);
    assert.equal(set.complete, true);
    c.applyRevocationChange(change(1, { revision: 1, serials: 1, crl: fresh }));
    assert.equal(set.revocation, undefined);
  });

  it('given a change for a CA the set does not hold, or one without its data, then the set is dropped as for a certificate change', () => {
    const a = cached();
    assert.deepEqual(a.c.applyRevocationChange({ ...change(2, { revision: 2, serials: 1 }), certificateId: 'other' }), [a.set]);
    assert.equal(a.c.get(['acc', 'provider']), undefined);
    const b = cached();
    assert.deepEqual(b.c.applyRevocationChange(change(2, undefined)), [b.set]);
    assert.equal(b.c.get(['acc', 'provider']), undefined);
    const outside = cached();
    assert.deepEqual(outside.c.applyRevocationChange(change(2, { revision: 2, serials: 0 }, 'elsewhere')), []);
    assert.ok(outside.set.revocation, 'another account\'s change leaves it alone');
  });

  it('given the CA\'s registration deleted, then what it revoked goes with it', () => {
    const { c, set, revoked } = cached();
    set.putRevokedSerials(list(1, [serial()]));
    assert.equal(revoked(), undefined, 'the same revision is not taken twice');
    c.keepRevokedSerials(list(2, [serial()]));
    c.applyRevocationChange(change(2, { revision: 2, serials: 1, crl: fresh }));
    assert.equal(revoked(), 'crl');
    c.applyCertChange({ type: 'cert.deleted', account: 'acc', certificateId: 'i', timeMs: T0 + 1 });
    assert.equal(set.revocation, undefined);
    assert.equal(set.complete, true);
  });
});
