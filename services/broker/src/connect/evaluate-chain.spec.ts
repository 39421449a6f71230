// The chain's standing against a trust set, given a CA estate as it really is: cross-signed and renewed
// intermediates, several registrations of one CA, some of them suspended or revoked. Given the
// registrations and the certificates a device sent, then the chain facts the decision sees.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CertStatus, TrustEntry } from '@twoway/contracts';
import { caIdentityOf, craftCertificate, Ext, EKU, normalizeSerial, testKey, type NameSpec, type ParsedCert } from '@twoway/pki';
import { buildSnapshot, type RevokedSerials } from '../cache/trust-cache.js';
import { evaluateChain } from './evaluate-chain.js';

const NOW = new Date('2030-06-01T00:00:00Z');
const NB = new Date('2030-01-01T00:00:00Z');
const NA = new Date('2031-01-01T00:00:00Z');
const ca = [Ext.basicConstraints(true), Ext.keyUsage(['keyCertSign', 'cRLSign'])];

const rootAName: NameSpec = [['CN', 'Estate Root A']];
const rootBName: NameSpec = [['CN', 'Estate Root B']];
const icaName: NameSpec = [['CN', 'Estate ICA']];
const rootAKey = testKey('ec-p256', 'estate-root-a');
const rootBKey = testKey('ec-p256', 'estate-root-b');
const icaKey = testKey('ec-p256', 'estate-ica');

const rootA = craftCertificate({ subject: rootAName, key: rootAKey, extensions: ca, notBefore: NB, notAfter: NA });
const rootB = craftCertificate({ subject: rootBName, key: rootBKey, extensions: ca, notBefore: NB, notAfter: NA });
/** The intermediate under root A, its renewed copy (same subject and key) and its cross-signed copy under root B. */
const icaA = craftCertificate({ subject: icaName, issuer: rootAName, key: icaKey, signer: rootAKey, extensions: ca, notBefore: NB, notAfter: NA });
const icaRenewed = craftCertificate({ subject: icaName, issuer: rootAName, key: icaKey, signer: rootAKey, extensions: ca, notBefore: new Date('2030-03-01T00:00:00Z'), notAfter: NA });
const icaB = craftCertificate({ subject: icaName, issuer: rootBName, key: icaKey, signer: rootBKey, extensions: ca, notBefore: NB, notAfter: NA });
const leaf = craftCertificate({
  subject: [['CN', 'dev-estate']], issuer: icaName, key: testKey('ec-p256', 'estate-leaf'), signer: icaKey, notBefore: NB, notAfter: NA,
  extensions: [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature']), Ext.extKeyUsage([EKU.clientAuth])],
});

const entry = (c: ParsedCert, status: CertStatus): TrustEntry => ({ id: c.fingerprint.slice(0, 8), accountId: 'acc', fingerprint: c.fingerprint, status, kind: c.kind, pem: c.pem });
const trust = (...regs: [ParsedCert, CertStatus][]) => {
  const byFp = new Map(regs.map(([c]) => [c.fingerprint, c]));
  return buildSnapshot(['acc'], regs.map(([c, s]) => entry(c, s)), (e) => byFp.get(e.fingerprint));
};
const fps = (...cs: ParsedCert[]) => cs.map((c) => c.fingerprint);
const ids = (...cs: ParsedCert[]) => cs.map((c) => caIdentityOf(c)!);

describe('evaluateChain: every candidate path is tried', () => {
  it('given root A suspended and root B valid, when the device sends both copies of its intermediate, then it is trusted through B in either order', async () => {
    const t = trust([rootA, 'SUSPENDED'], [rootB, 'VALID']);
    for (const sent of [[leaf, icaA, icaB], [leaf, icaB, icaA]]) {
      const f = await evaluateChain(sent, t, NOW);
      assert.deepEqual(f, { kind: 'trusted', leaf: { fingerprint: leaf.fingerprint, subject: leaf.subject, commonName: 'dev-estate', sans: [] }, path: fps(leaf, icaB, rootB), caIdentities: ids(leaf, icaB, rootB) });
    }
  });

  it('given an issuing CA under root A suspended (root A still VALID), when the device sends a path through it and one through root B, then the clean path admits it in either order', async () => {
    const midName: NameSpec = [['CN', 'Estate Issuing A']];
    const midKey = testKey('ec-p256', 'estate-mid-a');
    const mid = craftCertificate({ subject: midName, issuer: rootAName, key: midKey, signer: rootAKey, extensions: ca, notBefore: NB, notAfter: NA });
    const icaUnderMid = craftCertificate({ subject: icaName, issuer: midName, key: icaKey, signer: midKey, extensions: ca, notBefore: NB, notAfter: NA });
    const t = trust([rootA, 'VALID'], [rootB, 'VALID'], [mid, 'SUSPENDED']);
    for (const sent of [[leaf, icaUnderMid, mid, icaB], [leaf, icaB, icaUnderMid, mid]]) {
      const f = await evaluateChain(sent, t, NOW);
      assert.equal(f.kind, 'trusted');
      assert.deepEqual(f.kind === 'trusted' && f.path, fps(leaf, icaB, rootB));
    }
    const only = await evaluateChain([leaf, icaUnderMid, mid], t, NOW);
    assert.equal(only.kind === 'blocked' && only.reason, 'CERT_SUSPENDED');
    assert.equal(only.kind === 'blocked' && only.fingerprint, mid.fingerprint);
  });

  it('when only the copy under the suspended root is sent, then ANCHOR_SUSPENDED names root A', async () => {
    const f = await evaluateChain([leaf, icaA], trust([rootA, 'SUSPENDED'], [rootB, 'VALID']), NOW);
    assert.equal(f.kind, 'blocked');
    assert.equal(f.kind === 'blocked' && f.reason, 'ANCHOR_SUSPENDED');
    assert.equal(f.kind === 'blocked' && f.fingerprint, rootA.fingerprint);
  });

  it('when both roots are blocked, then the chain is blocked with the status of the first path', async () => {
    const f = await evaluateChain([leaf, icaA, icaB], trust([rootA, 'REVOKED'], [rootB, 'SUSPENDED']), NOW);
    assert.equal(f.kind, 'blocked');
  });
});

describe('evaluateChain: status follows the CA (subject and key), not one copy of it', () => {
  it('given the intermediate registered SUSPENDED, when the device sends its renewed copy (not registered), then CERT_SUSPENDED', async () => {
    const t = trust([rootA, 'VALID'], [icaA, 'SUSPENDED']);
    for (const sent of [[leaf, icaRenewed], [leaf, icaA], [leaf, icaRenewed, icaA]]) {
      const f = await evaluateChain(sent, t, NOW);
      assert.equal(f.kind, 'blocked', `sent ${sent.length} certificates`);
      assert.equal(f.kind === 'blocked' && f.reason, 'CERT_SUSPENDED');
      assert.equal(f.kind === 'blocked' && f.fingerprint, icaA.fingerprint, 'the registration that carries the status');
    }
  });

  it('given the suspended copy and a VALID registered twin, when the device presents either, then ANCHOR_SUSPENDED or CERT_SUSPENDED, never trusted', async () => {
    const t = trust([rootA, 'VALID'], [icaA, 'SUSPENDED'], [icaRenewed, 'VALID']);
    const alone = await evaluateChain([leaf], t, NOW);
    assert.equal(alone.kind === 'blocked' && alone.reason, 'ANCHOR_SUSPENDED');
    const withCopy = await evaluateChain([leaf, icaRenewed], t, NOW);
    assert.equal(withCopy.kind, 'blocked');
  });

  it('the cross-signed copy is the same CA too: revoking the intermediate under A also blocks the path through B', async () => {
    const f = await evaluateChain([leaf, icaB], trust([rootA, 'VALID'], [rootB, 'VALID'], [icaA, 'REVOKED']), NOW);
    assert.equal(f.kind === 'blocked' && f.reason, 'CERT_REVOKED');
  });

  it('another CA with the same name but another key is not affected', async () => {
    const otherKey = testKey('ec-p256', 'estate-ica-other');
    const sameName = craftCertificate({ subject: icaName, issuer: rootAName, key: otherKey, signer: rootAKey, extensions: ca, notBefore: NB, notAfter: NA });
    const f = await evaluateChain([leaf, icaA], trust([rootA, 'VALID'], [sameName, 'SUSPENDED']), NOW);
    assert.equal(f.kind, 'trusted');
  });

  it('with every copy VALID, the renewed copy is trusted', async () => {
    const f = await evaluateChain([leaf, icaRenewed], trust([rootA, 'VALID'], [icaA, 'VALID']), NOW);
    assert.equal(f.kind, 'trusted');
  });
});

describe('evaluateChain: serials revoked by their issuer (CRL, revoked-serial entries)', () => {
  const serial = normalizeSerial(leaf.serial)!;
  const icaSerial = normalizeSerial(icaA.serial)!;
  const lists = (...ls: RevokedSerials[]) => new Map(ls.map((l) => [l.certificateId, l]));
  const revoked = (c: ParsedCert, bySerial: [string, 'crl' | 'manual'][]): RevokedSerials => ({ certificateId: c.fingerprint.slice(0, 8), revision: 1, bySerial: new Map(bySerial) });
  const withRevocation = (c: ParsedCert, status: CertStatus, rev: TrustEntry['revocation']): TrustEntry => ({ ...entry(c, status), ...(rev ? { revocation: rev } : {}) });
  const snapshot = (regs: TrustEntry[], ls: Map<string, RevokedSerials> = new Map()) => {
    const byFp = new Map([rootA, rootB, icaA, icaRenewed, icaB].map((c) => [c.fingerprint, c]));
    return buildSnapshot(['acc'], regs, (e) => byFp.get(e.fingerprint), ls);
  };
  const fresh = { thisUpdate: '2030-05-31T00:00:00.000Z', nextUpdate: '2030-06-07T00:00:00.000Z' };
  const stale = { thisUpdate: '2030-05-01T00:00:00.000Z', nextUpdate: '2030-05-08T00:00:00.000Z' };
  const leafFactsOf = { fingerprint: leaf.fingerprint, subject: leaf.subject, commonName: 'dev-estate', sans: [] };

  it('given the intermediate\'s CRL lists the device, when it connects, then the chain is blocked CERT_REVOKED_BY_CRL naming the device and its serial', async () => {
    const t = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 1, crl: fresh })], lists(revoked(icaA, [[serial, 'crl']])));
    assert.deepEqual(await evaluateChain([leaf], t, NOW), { kind: 'blocked', reason: 'CERT_REVOKED_BY_CRL', fingerprint: leaf.fingerprint, serial, leaf: leafFactsOf, path: fps(leaf, icaA) });
  });

  it('given a revoked-serial entry too, then CERT_SERIAL_REVOKED wins', async () => {
    const t = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 1, crl: fresh })], lists(revoked(icaA, [[serial, 'manual']])));
    const f = await evaluateChain([leaf], t, NOW);
    assert.equal(f.kind === 'blocked' && f.reason, 'CERT_SERIAL_REVOKED');
  });

  it('given the root revoked the intermediate\'s serial, when the device sends the intermediate, then the path through it is blocked (not only the leaf is checked)', async () => {
    const t = snapshot([withRevocation(rootA, 'VALID', { revision: 3, serials: 1, crl: fresh })], lists(revoked(rootA, [[icaSerial, 'crl']])));
    const f = await evaluateChain([leaf, icaA], t, NOW);
    assert.deepEqual(f.kind === 'blocked' && [f.reason, f.fingerprint, f.serial], ['CERT_REVOKED_BY_CRL', icaA.fingerprint, icaSerial]);
  });

  it('given the revocation data is on a renewed copy of the intermediate, then it counts for the copy the path uses (status and revocation follow the CA)', async () => {
    const t = snapshot([entry(rootA, 'VALID'), withRevocation(icaRenewed, 'VALID', { revision: 1, serials: 1 })], lists({ ...revoked(icaRenewed, [[serial, 'manual']]) }));
    const f = await evaluateChain([leaf, icaA], t, NOW);
    assert.equal(f.kind === 'blocked' && f.reason, 'CERT_SERIAL_REVOKED');
  });

  it('given another device\'s serial is listed, then this one is trusted; given its serial is listed by another CA, then too', async () => {
    const t = snapshot(
      [entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 1, crl: fresh }), withRevocation(rootB, 'VALID', { revision: 1, serials: 1 })],
      lists(revoked(icaA, [['abcdef', 'crl']]), revoked(rootB, [[serial, 'manual']])),
    );
    assert.deepEqual(await evaluateChain([leaf], t, NOW), { kind: 'trusted', leaf: leafFactsOf, path: fps(leaf, icaA), caIdentities: ids(leaf, icaA) });
  });

  it('given the intermediate revoked under root A only, when the device also sends the copy cross-signed by root B, then the clean path through B admits it', async () => {
    const t = snapshot([withRevocation(rootA, 'VALID', { revision: 1, serials: 1, crl: fresh }), entry(rootB, 'VALID')], lists(revoked(rootA, [[icaSerial, 'crl']])));
    const f = await evaluateChain([leaf, icaA, icaB], t, NOW);
    assert.deepEqual(f.kind === 'trusted' && f.path, fps(leaf, icaB, rootB));
  });

  it('given a stale CRL, when the account accepts stale CRLs, then the device is trusted with the warning; when it refuses them, then blocked CRL_STALE', async () => {
    const t = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 0, crl: stale })]);
    assert.deepEqual(await evaluateChain([leaf], t, NOW, undefined, 'accept'), { kind: 'trusted', leaf: leafFactsOf, path: fps(leaf, icaA), caIdentities: ids(leaf, icaA), staleCrl: { fingerprint: icaA.fingerprint, nextUpdate: stale.nextUpdate } });
    const refused = await evaluateChain([leaf], t, NOW, undefined, 'refuse');
    assert.deepEqual(refused.kind === 'blocked' && [refused.reason, refused.fingerprint], ['CRL_STALE', icaA.fingerprint]);
  });

  it('given a stale copy and a fresh copy of the CA\'s CRL, then the freshest decides: not stale; given a CRL without nextUpdate, never stale', async () => {
    const both = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 0, crl: stale }), withRevocation(icaRenewed, 'VALID', { revision: 1, serials: 0, crl: fresh })]);
    assert.equal((await evaluateChain([leaf, icaA], both, NOW, undefined, 'refuse')).kind, 'trusted');
    const none = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 0, crl: { thisUpdate: stale.thisUpdate, nextUpdate: null } })]);
    assert.equal((await evaluateChain([leaf], none, NOW, undefined, 'refuse')).kind, 'trusted');
  });

  it('given no CA has revocation data, then the snapshot has no index and the check costs nothing', () => {
    assert.equal(snapshot([entry(rootA, 'VALID'), entry(icaA, 'VALID')]).revocation, undefined);
  });

  it('looks a serial up in constant time: 100,000 serials listed, the same cost per connect (figure printed, not asserted)', async () => {
    const big = revoked(icaA, Array.from({ length: 100_000 }, (_, i) => [(0x7000000 + i).toString(16), 'crl'] as [string, 'crl']));
    const t = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 100_000, crl: fresh })], lists(big));
    const small = snapshot([entry(rootA, 'VALID'), withRevocation(icaA, 'VALID', { revision: 1, serials: 1, crl: fresh })], lists(revoked(icaA, [['abcdef', 'crl']])));
    const none = snapshot([entry(rootA, 'VALID'), entry(icaA, 'VALID')]);
    const time = async (s: typeof t) => {
      const t0 = performance.now();
      for (let i = 0; i < 5000; i++) await evaluateChain([leaf], s, NOW);
      return ((performance.now() - t0) / 5000) * 1000;
    };
    for (const s of [none, small, t]) await time(s); // warm every path first
    const [us0, us1, us100k] = [await time(none), await time(small), await time(t)];
    assert.equal((await evaluateChain([leaf], t, NOW)).kind, 'trusted');
    console.log(`evaluateChain per connect (warm): no revocation data ${us0.toFixed(1)} µs, 1 serial listed ${us1.toFixed(1)} µs, 100,000 listed ${us100k.toFixed(1)} µs`);
  });
});
