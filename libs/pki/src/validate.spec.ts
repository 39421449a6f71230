// The chain validator on generated chains, hostile ones included. Given a chain, when validated at a
// time for a purpose, then the verdict and its reason code.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { craftCertificate, Ext, EKU, testKey, type CraftOptions, type KeyPair, type NameSpec } from './craft.js';
import { AnchorSet, checkCertificate, validateChain, validateChainSync, type ValidateChainInput } from './validate.js';
import { createRootCa, issueDeviceCert, issueIntermediateCa, issueServerCert } from './issue.js';
import type { ParsedCert } from './certificate.js';

const NOW = new Date('2030-06-01T00:00:00Z');
const NB = new Date('2030-01-01T00:00:00Z');
const NA = new Date('2031-01-01T00:00:00Z');

const rootName: NameSpec = [['C', 'US'], ['O', 'Acme'], ['CN', 'Acme Root']];
const intName: NameSpec = [['C', 'US'], ['O', 'Acme'], ['CN', 'Acme Intermediate']];
const leafName: NameSpec = [['O', 'Acme'], ['CN', 'device-1']];

const rootKey = testKey('ec-p256', 'root');
const intKey = testKey('ec-p256', 'int');
const leafKey = testKey('ec-p256', 'leaf');

const caExts = (pathLen?: number) => [Ext.basicConstraints(true, pathLen), Ext.keyUsage(['keyCertSign', 'cRLSign'])];
const leafExts = () => [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature']), Ext.extKeyUsage([EKU.clientAuth])];

function cert(o: Partial<CraftOptions> & Pick<CraftOptions, 'subject' | 'key'>): ParsedCert {
  return craftCertificate({ notBefore: NB, notAfter: NA, ...o });
}
function root(o: Partial<CraftOptions> = {}): ParsedCert {
  return cert({ subject: rootName, key: rootKey, extensions: caExts(), ...o });
}
function intermediate(o: Partial<CraftOptions> = {}): ParsedCert {
  return cert({ subject: intName, issuer: rootName, key: intKey, signer: rootKey, extensions: caExts(), ...o });
}
function leaf(o: Partial<CraftOptions> = {}): ParsedCert {
  return cert({ subject: leafName, issuer: intName, key: leafKey, signer: intKey, extensions: leafExts(), ...o });
}

const R = root();
const I = intermediate();
const L = leaf();

function check(input: Partial<ValidateChainInput>) {
  return validateChainSync({ leaf: L, untrusted: [I], anchors: [R], at: NOW, purpose: 'client', ...input });
}

describe('validateChain: a good chain', () => {
  test('leaf <- intermediate <- root is valid, path leaf first and anchor last', async () => {
    const r = await validateChain({ leaf: L, untrusted: [I], anchors: [R], at: NOW, purpose: 'client' });
    assert.equal(r.reason, 'OK');
    assert.equal(r.valid, true);
    assert.deepEqual(r.path.map((c) => c.fingerprint), [L, I, R].map((c) => c.fingerprint));
  });

  test('out of order, with extras and duplicates', () => {
    const stranger = cert({ subject: [['CN', 'stranger']], key: testKey('ec-p256', 'stranger'), extensions: caExts() });
    const r = check({ untrusted: [R, stranger, I, I, L] });
    assert.equal(r.reason, 'OK');
    assert.equal(r.path.length, 3);
  });

  test('issuer and subject names that differ only in case, spacing and string type match (RFC 5280 §7.1)', () => {
    const i2 = intermediate({ subject: [['C', 'US'], ['O', 'Acme'], ['CN', '  Acme   INTERMEDIATE ']] });
    const l2 = leaf({ issuer: [['C', 'us'], ['O', 'printable:ACME'], ['CN', 'acme intermediate']] });
    assert.equal(check({ leaf: l2, untrusted: [i2] }).reason, 'OK');
  });

  test('a name that really differs does not match', () => {
    const l2 = leaf({ issuer: [['C', 'US'], ['O', 'Acme'], ['CN', 'Acme Intermediate 2']] });
    assert.equal(check({ leaf: l2 }).reason, 'CHAIN_UNTRUSTED');
  });

  test('an intermediate anchor makes a partial chain valid; a root sent along is ignored', () => {
    const r = check({ anchors: [I], untrusted: [R] });
    assert.equal(r.reason, 'OK');
    assert.deepEqual(r.path.map((c) => c.fingerprint), [L.fingerprint, I.fingerprint]);
  });

  test('a pinned leaf is valid on its own; another leaf of the same CA is not', () => {
    assert.equal(check({ anchors: [L], untrusted: [] }).reason, 'OK');
    const other = leaf({ subject: [['CN', 'device-2']], key: testKey('ec-p256', 'leaf2') });
    assert.equal(check({ leaf: other, anchors: [L], untrusted: [I] }).reason, 'CHAIN_UNTRUSTED');
  });

  test('a pinned leaf still needs its own dates and usage', () => {
    assert.equal(check({ anchors: [L], untrusted: [], at: new Date('2032-01-01T00:00:00Z') }).reason, 'CERT_EXPIRED');
    const serverOnly = leaf({ extensions: [Ext.basicConstraints(false), Ext.extKeyUsage([EKU.serverAuth])] });
    assert.equal(check({ leaf: serverOnly, anchors: [serverOnly], untrusted: [] }).reason, 'EKU_CLIENT_AUTH_MISSING');
  });

  test('an Ed25519 chain and an RSA-2048 chain are valid', () => {
    const ek = testKey('ed25519', 'r');
    const er = cert({ subject: rootName, key: ek, extensions: caExts() });
    const el = leaf({ issuer: rootName, signer: ek });
    assert.equal(check({ leaf: el, anchors: [er], untrusted: [] }).reason, 'OK');
    const rk = testKey('rsa-2048', 'r');
    const rr = cert({ subject: rootName, key: rk, extensions: caExts() });
    const rl = leaf({ issuer: rootName, signer: rk, key: testKey('rsa-2048', 'l') });
    assert.equal(check({ leaf: rl, anchors: [rr], untrusted: [] }).reason, 'OK');
  });

  test('an RSASSA-PSS (SHA-256) signature verifies; a corrupted one does not', () => {
    const rk = testKey('rsa-2048', 'r');
    const rr = cert({ subject: rootName, key: rk, extensions: caExts() });
    assert.equal(check({ leaf: leaf({ issuer: rootName, signer: rk, hash: 'sha256-pss' }), anchors: [rr], untrusted: [] }).reason, 'OK');
    assert.equal(check({ leaf: leaf({ issuer: rootName, signer: rk, hash: 'sha256-pss', corruptSignature: true }), anchors: [rr], untrusted: [] }).reason, 'SIGNATURE_INVALID');
  });

  test('when two paths exist, a valid one is preferred over an invalid one (expired cross-certificate)', () => {
    const otherRootKey = testKey('ec-p256', 'root2');
    const otherRoot = cert({ subject: [['CN', 'Other Root']], key: otherRootKey, extensions: caExts() });
    // The same intermediate name and key, cross-signed by the other root but expired.
    const crossExpired = intermediate({ issuer: [['CN', 'Other Root']], signer: otherRootKey, notAfter: new Date('2030-02-01T00:00:00Z') });
    const r = check({ untrusted: [crossExpired, I], anchors: [otherRoot, R] });
    assert.equal(r.reason, 'OK');
    assert.equal(r.path.at(-1)!.fingerprint, R.fingerprint);
  });
});

describe('validateChain: validity (inclusive, RFC 5280 §4.1.2.5)', () => {
  test('expired leaf', () => assert.equal(check({ at: new Date('2031-01-01T00:00:01Z') }).reason, 'CERT_EXPIRED'));
  test('valid at exactly notAfter and notBefore', () => {
    assert.equal(check({ at: NA }).reason, 'OK');
    assert.equal(check({ at: NB }).reason, 'OK');
  });
  test('not yet valid leaf', () => {
    const l2 = leaf({ notBefore: new Date('2030-07-01T00:00:00Z') });
    assert.equal(check({ leaf: l2 }).reason, 'CERT_NOT_YET_VALID');
  });
  test('expired intermediate and expired root', () => {
    assert.equal(check({ untrusted: [intermediate({ notAfter: new Date('2030-05-01T00:00:00Z') })] }).reason, 'CERT_EXPIRED');
    assert.equal(check({ anchors: [root({ notAfter: new Date('2030-05-01T00:00:00Z') })] }).reason, 'CERT_EXPIRED');
  });
});

describe('validateChain: hostile chains', () => {
  test('leaf without clientAuth EKU; anyExtendedKeyUsage does not count; server purpose checks serverAuth', () => {
    const serverLeaf = leaf({ extensions: [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature']), Ext.extKeyUsage([EKU.serverAuth])] });
    assert.equal(check({ leaf: serverLeaf }).reason, 'EKU_CLIENT_AUTH_MISSING');
    assert.equal(check({ leaf: serverLeaf, purpose: 'server' }).reason, 'OK');
    assert.equal(check({ leaf: L, purpose: 'server' }).reason, 'EKU_SERVER_AUTH_MISSING');
    assert.equal(check({ leaf: L, purpose: 'any' }).reason, 'OK');
    const anyEku = leaf({ extensions: [Ext.basicConstraints(false), Ext.extKeyUsage([EKU.any])] });
    assert.equal(check({ leaf: anyEku }).reason, 'EKU_CLIENT_AUTH_MISSING');
    const noEku = leaf({ extensions: [Ext.basicConstraints(false)] });
    assert.equal(check({ leaf: noEku }).reason, 'OK');
  });

  test('leaf keyUsage without digitalSignature', () => {
    const l2 = leaf({ extensions: [Ext.keyUsage(['keyEncipherment']), Ext.extKeyUsage([EKU.clientAuth])] });
    assert.equal(check({ leaf: l2 }).reason, 'KEY_USAGE_INVALID');
  });

  test('CA:FALSE issuer, and an issuer without basicConstraints', () => {
    assert.equal(check({ untrusted: [intermediate({ extensions: [Ext.basicConstraints(false), Ext.keyUsage(['keyCertSign'])] })] }).reason, 'ISSUER_NOT_CA');
    assert.equal(check({ untrusted: [intermediate({ extensions: [Ext.keyUsage(['keyCertSign'])] })] }).reason, 'ISSUER_NOT_CA');
  });

  test('issuer keyUsage without keyCertSign', () => {
    assert.equal(check({ untrusted: [intermediate({ extensions: [Ext.basicConstraints(true), Ext.keyUsage(['cRLSign'])] })] }).reason, 'KEY_USAGE_INVALID');
  });

  test('pathLen exceeded: root pathLen 0 cannot have an intermediate; pathLen 0 on the last CA is fine', () => {
    assert.equal(check({ anchors: [root({ extensions: caExts(0) })] }).reason, 'PATH_LEN_EXCEEDED');
    assert.equal(check({ untrusted: [intermediate({ extensions: caExts(0) })] }).reason, 'OK');
    const i2Key = testKey('ec-p256', 'int2');
    const i2Name: NameSpec = [['CN', 'Sub CA']];
    const i2 = cert({ subject: i2Name, issuer: intName, key: i2Key, signer: intKey, extensions: caExts() });
    const l2 = leaf({ issuer: i2Name, signer: i2Key });
    assert.equal(check({ leaf: l2, untrusted: [intermediate({ extensions: caExts(0) }), i2] }).reason, 'PATH_LEN_EXCEEDED');
    assert.equal(check({ leaf: l2, untrusted: [intermediate({ extensions: caExts(1) }), i2] }).reason, 'OK');
  });

  test('unknown critical extension on leaf, intermediate or root; a non-critical one is fine', () => {
    const unknown = Ext.raw('1.3.6.1.4.1.55738.666.1', true);
    assert.equal(check({ leaf: leaf({ extensions: [...leafExts(), unknown] }) }).reason, 'UNKNOWN_CRITICAL_EXTENSION');
    assert.equal(check({ untrusted: [intermediate({ extensions: [...caExts(), unknown] })] }).reason, 'UNKNOWN_CRITICAL_EXTENSION');
    assert.equal(check({ anchors: [root({ extensions: [...caExts(), unknown] })] }).reason, 'UNKNOWN_CRITICAL_EXTENSION');
    assert.equal(check({ leaf: leaf({ extensions: [...leafExts(), Ext.raw('1.3.6.1.4.1.55738.666.1', false)] }) }).reason, 'OK');
  });

  test('SHA-1 signatures (RSA and ECDSA) and MD5 signatures are refused', () => {
    assert.equal(check({ leaf: leaf({ hash: 'sha1' }) }).reason, 'WEAK_SIGNATURE_ALGORITHM');
    assert.equal(check({ untrusted: [intermediate({ hash: 'sha1' })] }).reason, 'WEAK_SIGNATURE_ALGORITHM');
    const rk = testKey('rsa-2048', 'r');
    const rr = cert({ subject: rootName, key: rk, extensions: caExts() });
    for (const hash of ['md5', 'sha1'] as const) {
      const rl = leaf({ issuer: rootName, signer: rk, hash });
      assert.equal(check({ leaf: rl, anchors: [rr], untrusted: [] }).reason, 'WEAK_SIGNATURE_ALGORITHM', hash);
    }
  });

  test('weak keys: RSA-1024 leaf, RSA-1024 intermediate, P-192 leaf, DSA leaf', () => {
    assert.equal(check({ leaf: leaf({ key: testKey('rsa-1024', 'weak') }) }).reason, 'WEAK_KEY');
    const weakInt: KeyPair = testKey('rsa-1024', 'weak-int');
    const wi = intermediate({ key: weakInt });
    assert.equal(check({ leaf: leaf({ signer: weakInt }), untrusted: [wi] }).reason, 'WEAK_KEY');
    assert.equal(check({ leaf: leaf({ key: testKey('ec-p192', 'weak') }) }).reason, 'WEAK_KEY');
    assert.equal(check({ leaf: leaf({ key: testKey('dsa-2048', 'weak') }) }).reason, 'WEAK_KEY');
  });

  test('a bad signature on the leaf or on the intermediate', () => {
    assert.equal(check({ leaf: leaf({ corruptSignature: true }) }).reason, 'SIGNATURE_INVALID');
    assert.equal(check({ untrusted: [intermediate({ corruptSignature: true })] }).reason, 'SIGNATURE_INVALID');
    // Signed by a key other than the named issuer's.
    assert.equal(check({ leaf: leaf({ signer: testKey('ec-p256', 'mallory') }) }).reason, 'SIGNATURE_INVALID');
  });

  test('a chain loop (two CAs that sign each other, no anchor above) is refused', () => {
    const aKey = testKey('ec-p256', 'loopA');
    const bKey = testKey('ec-p256', 'loopB');
    const a = cert({ subject: [['CN', 'Loop A']], issuer: [['CN', 'Loop B']], key: aKey, signer: bKey, extensions: caExts() });
    const b = cert({ subject: [['CN', 'Loop B']], issuer: [['CN', 'Loop A']], key: bKey, signer: aKey, extensions: caExts() });
    const l2 = leaf({ issuer: [['CN', 'Loop A']], signer: aKey });
    const r = check({ leaf: l2, untrusted: [a, b] });
    assert.equal(r.valid, false);
    assert.equal(r.reason, 'CHAIN_LOOP');
  });

  test('a 20-certificate chain: refused by the default depth of 16, valid when allowed', () => {
    const untrusted: ParsedCert[] = [];
    let issuerName = rootName;
    let issuerKey = rootKey;
    for (let i = 0; i < 18; i++) {
      const name: NameSpec = [['CN', `Level ${i}`]];
      const key = testKey('ec-p256', `level${i}`);
      untrusted.push(cert({ subject: name, issuer: issuerName, key, signer: issuerKey, extensions: caExts() }));
      issuerName = name;
      issuerKey = key;
    }
    const deep = leaf({ issuer: issuerName, signer: issuerKey });
    const refused = check({ leaf: deep, untrusted: untrusted.reverse() });
    assert.equal(refused.reason, 'CHAIN_TOO_LONG');
    const allowed = check({ leaf: deep, untrusted, maxDepth: 20 });
    assert.equal(allowed.reason, 'OK');
    assert.equal(allowed.path.length, 20);
  });

  test('a self-signed root that is not an anchor', () => {
    const other = cert({ subject: [['CN', 'Evil Root']], key: testKey('ec-p256', 'evil'), extensions: caExts() });
    const r = check({ anchors: [other], untrusted: [I, R] });
    assert.equal(r.reason, 'CHAIN_UNTRUSTED');
    assert.match(r.detail ?? '', /not a registered anchor/);
  });

  test('no anchors at all', () => assert.equal(check({ anchors: [] }).reason, 'CHAIN_UNTRUSTED'));

  test('duplicate extension, v1 certificate, empty issuer', () => {
    assert.equal(check({ leaf: leaf({ extensions: [...leafExts(), Ext.subjectAltName(['dns:a.example']), Ext.subjectAltName(['dns:b.example'])] }) }).reason, 'INVALID_EXTENSION');
    assert.equal(check({ leaf: leaf({ version: 1, extensions: [], keyIds: false }) }).reason, 'CERT_MALFORMED');
    assert.equal(check({ leaf: leaf({ issuer: [] }) }).reason, 'CERT_MALFORMED');
  });

  test('name constraints: DNS, IP, email and directoryName permitted/excluded subtrees', () => {
    // The intermediate's own DN must also sit inside directoryName constraints (RFC 5280 §6.1.3 (b)).
    const ncIntName: NameSpec = [['O', 'Acme'], ['CN', 'Acme Intermediate']];
    const ncInt = intermediate({ subject: ncIntName });
    const nc = (permitted: string[], excluded: string[] = []) => root({ extensions: [...caExts(), Ext.nameConstraints(permitted, excluded)] });
    const withSan = (sans: string[]) => leaf({ issuer: ncIntName, extensions: [...leafExts(), ...(sans.length ? [Ext.subjectAltName(sans)] : [])] });
    const cases: Array<[string, ParsedCert, string[], string]> = [
      ['dns inside', nc(['dns:example.com']), ['dns:dev.example.com'], 'OK'],
      ['dns outside', nc(['dns:example.com']), ['dns:example.org'], 'NAME_CONSTRAINTS_VIOLATED'],
      ['dns label boundary', nc(['dns:example.com']), ['dns:badexample.com'], 'NAME_CONSTRAINTS_VIOLATED'],
      ['dns excluded', nc([], ['dns:bad.example.com']), ['dns:x.bad.example.com'], 'NAME_CONSTRAINTS_VIOLATED'],
      ['second SAN excluded', nc([], ['dns:bad.example.com']), ['dns:ok.example.com', 'dns:bad.example.com'], 'NAME_CONSTRAINTS_VIOLATED'],
      ['ip inside', nc(['ip:10.0.0.0/8']), ['ip:10.1.2.3'], 'OK'],
      ['ip outside', nc(['ip:10.0.0.0/8']), ['ip:192.168.1.1'], 'NAME_CONSTRAINTS_VIOLATED'],
      ['email domain', nc(['email:example.com']), ['email:dev@example.com'], 'OK'],
      ['email other domain', nc(['email:example.com']), ['email:dev@example.org'], 'NAME_CONSTRAINTS_VIOLATED'],
      ['other type unconstrained', nc(['ip:10.0.0.0/8']), ['dns:anything.example'], 'OK'],
      ['directoryName permitted', nc(['dn:O=Acme']), [], 'OK'],
      ['directoryName outside', nc(['dn:O=Other']), [], 'NAME_CONSTRAINTS_VIOLATED'],
      ['directoryName excluded, case-insensitive', nc([], ['dn:O=ACME']), [], 'NAME_CONSTRAINTS_VIOLATED'],
    ];
    for (const [name, anchor, sans, want] of cases) {
      assert.equal(check({ leaf: withSan(sans), untrusted: [ncInt], anchors: [anchor] }).reason, want, name);
    }
  });

  test('RFC 5280 profile MUSTs: serial, key identifier criticality, name constraints placement, keyCertSign without cA', () => {
    assert.equal(check({ leaf: leaf({ serial: Uint8Array.of(0) }) }).reason, 'CERT_MALFORMED');
    assert.equal(check({ leaf: leaf({ serial: new Uint8Array(21).fill(1) }) }).reason, 'CERT_MALFORMED');
    assert.equal(check({ leaf: leaf({ serial: new Uint8Array(20).fill(1) }) }).reason, 'OK');
    const spki = new Uint8Array(intKey.publicKey.export({ type: 'spki', format: 'der' }));
    assert.equal(check({ leaf: leaf({ keyIds: false, extensions: [...leafExts(), { ...Ext.authorityKeyId(spki), critical: true }] }) }).reason, 'INVALID_EXTENSION');
    assert.equal(check({ leaf: leaf({ extensions: [...leafExts(), Ext.nameConstraints(['dns:example.com'])] }) }).reason, 'INVALID_EXTENSION');
    assert.equal(check({ anchors: [root({ extensions: [...caExts(), Ext.nameConstraints(['dn:C=US'], [], false)] })] }).reason, 'INVALID_EXTENSION');
    assert.equal(check({ leaf: leaf({ extensions: [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature', 'keyCertSign'])] }) }).reason, 'KEY_USAGE_INVALID');
  });

  test('a wildcard SAN is refused when an excluded subtree falls under it', () => {
    const ncIntName: NameSpec = [['CN', 'NC ICA']];
    const ncInt = intermediate({ subject: ncIntName, extensions: [...caExts(), Ext.nameConstraints([], ['dns:bar.example.com'])] });
    const wild = leaf({ issuer: ncIntName, extensions: [...leafExts(), Ext.subjectAltName(['dns:*.example.com'])] });
    assert.equal(check({ leaf: wild, untrusted: [ncInt] }).reason, 'NAME_CONSTRAINTS_VIOLATED');
    const other = leaf({ issuer: ncIntName, extensions: [...leafExts(), Ext.subjectAltName(['dns:*.example.org'])] });
    assert.equal(check({ leaf: other, untrusted: [ncInt] }).reason, 'OK');
  });

  test('malformed PEM-derived input never throws: a leaf that is not a certificate', () => {
    const junk = { ...L, der: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), fingerprint: 'f'.repeat(64) } as ParsedCert;
    assert.equal(check({ leaf: junk }).reason, 'CERT_MALFORMED');
  });
});

describe('validateChain: certificates from issue.ts', () => {
  test('device chain validates for client, server certificate for server only', async () => {
    const root = await createRootCa({ commonName: 'Spec Root' });
    const ica = await issueIntermediateCa({ issuer: root, commonName: 'Spec ICA', pathLen: 0 });
    const dev = await issueDeviceCert({ issuer: ica, commonName: 'dev-1', sans: ['dns:dev-1.example'] });
    const srv = await issueServerCert({ issuer: ica, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1'] });
    const at = new Date();
    const ok = await validateChain({ leaf: dev.cert, untrusted: [ica.cert], anchors: [root.cert], at, purpose: 'client' });
    assert.equal(ok.reason, 'OK');
    assert.equal((await validateChain({ leaf: srv.cert, untrusted: [ica.cert], anchors: [root.cert], at, purpose: 'server' })).reason, 'OK');
    assert.equal((await validateChain({ leaf: srv.cert, untrusted: [ica.cert], anchors: [root.cert], at, purpose: 'client' })).reason, 'EKU_CLIENT_AUTH_MISSING');
  });

  test('speed: a 3-deep validation, cold and warm (printed, not asserted)', async () => {
    const root = await createRootCa({ commonName: 'Bench Root' });
    const ica = await issueIntermediateCa({ issuer: root, commonName: 'Bench ICA' });
    const dev = await issueDeviceCert({ issuer: ica, commonName: 'bench-dev' });
    const anchors = new AnchorSet([root.cert]);
    const input: ValidateChainInput = { leaf: dev.cert, untrusted: [ica.cert], anchors, at: new Date(), purpose: 'client' };
    const t0 = performance.now();
    assert.equal(validateChainSync(input).reason, 'OK');
    const cold = (performance.now() - t0) * 1000;
    const timeIt = (n: number, f: () => void): number => {
      const t = performance.now();
      for (let i = 0; i < n; i++) f();
      return ((performance.now() - t) * 1000) / n;
    };
    const warm = timeIt(5000, () => validateChainSync(input));
    const warmArray = timeIt(5000, () => validateChainSync({ ...input, anchors: [root.cert] }));
    // A device seen for the first time: its certificate is parsed and its signature verified; CAs are cached.
    const fresh = await Promise.all(Array.from({ length: 50 }, (_, i) => issueDeviceCert({ issuer: ica, commonName: `fresh-${i}` })));
    let k = 0;
    const newLeaf = timeIt(fresh.length, () => validateChainSync({ ...input, leaf: fresh[k++]!.cert }));
    console.log(
      `validateChain 3-deep EC P-256: first call ${cold.toFixed(0)} µs; new device leaf (CAs cached) ${newLeaf.toFixed(0)} µs; ` +
        `warm ${warm.toFixed(1)} µs with an AnchorSet, ${warmArray.toFixed(1)} µs with an anchor array`,
    );
  });
});

describe('checkCertificate (upload checks)', () => {
  test('a good root, an expired one, a weak one, a CA without keyCertSign', () => {
    assert.equal(checkCertificate(R, NOW).reason, 'OK');
    assert.equal(checkCertificate(R, new Date('2032-01-01T00:00:00Z')).reason, 'CERT_EXPIRED');
    assert.equal(checkCertificate(root({ key: testKey('rsa-1024', 'weak-root') }), NOW).reason, 'WEAK_KEY');
    assert.equal(checkCertificate(root({ extensions: [Ext.basicConstraints(true), Ext.keyUsage(['cRLSign'])] }), NOW).reason, 'KEY_USAGE_INVALID');
    assert.equal(checkCertificate(L, NOW).reason, 'OK', 'a leaf to pin');
  });
});

describe('AnchorSet', () => {
  test('add, has, delete; a deleted anchor no longer validates', () => {
    const set = new AnchorSet([R]);
    assert.equal(set.size, 1);
    assert.equal(set.has(R.fingerprint), true);
    assert.equal(check({ anchors: set }).reason, 'OK');
    assert.equal(set.add(I), true);
    assert.equal(check({ anchors: set, untrusted: [] }).reason, 'OK', 'the intermediate anchor suffices');
    assert.equal(set.delete(I.fingerprint), true);
    assert.equal(set.delete(R.fingerprint), true);
    assert.equal(set.delete(R.fingerprint), false);
    assert.equal(check({ anchors: set }).reason, 'CHAIN_UNTRUSTED');
    const junk = { ...R, der: new Uint8Array([1, 2, 3]), fingerprint: '0'.repeat(64) } as ParsedCert;
    assert.equal(set.add(junk), false);
  });
});

describe('validateChain: extendedKeyUsage on CA certificates (OpenSSL, Go, NSS, Windows; not RFC 5280)', () => {
  const serverLeaf = leaf({ extensions: [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature']), Ext.extKeyUsage([EKU.serverAuth])] });
  const caWithEku = (ekus: string[]) => [...caExts(), Ext.extKeyUsage(ekus)];

  test('given an intermediate whose EKU includes clientAuth, when a device validates, then it is admitted', () => {
    assert.equal(check({ untrusted: [intermediate({ extensions: caWithEku([EKU.clientAuth]) })] }).reason, 'OK');
    assert.equal(check({ untrusted: [intermediate({ extensions: caWithEku([EKU.serverAuth, EKU.clientAuth]) })] }).reason, 'OK');
  });

  test('given an intermediate whose EKU lists only serverAuth, when a device validates, then CA_EKU_CLIENT_AUTH_MISSING names the intermediate', () => {
    const r = check({ untrusted: [intermediate({ extensions: caWithEku([EKU.serverAuth]) })] });
    assert.equal(r.valid, false);
    assert.equal(r.reason, 'CA_EKU_CLIENT_AUTH_MISSING');
    assert.match(r.detail!, /intermediate 'Acme Intermediate'/);
  });

  test('and likewise for a server certificate under a clientAuth-only CA', () => {
    const clientOnly = intermediate({ extensions: caWithEku([EKU.clientAuth]) });
    assert.equal(check({ leaf: serverLeaf, untrusted: [clientOnly], purpose: 'server' }).reason, 'CA_EKU_SERVER_AUTH_MISSING');
    assert.equal(check({ leaf: serverLeaf, untrusted: [intermediate({ extensions: caWithEku([EKU.serverAuth]) })], purpose: 'server' }).reason, 'OK');
  });

  test('anyExtendedKeyUsage on a CA does not restrict; purpose any checks no EKU', () => {
    assert.equal(check({ untrusted: [intermediate({ extensions: caWithEku([EKU.any]) })] }).reason, 'OK');
    assert.equal(check({ untrusted: [intermediate({ extensions: caWithEku([EKU.serverAuth]) })], purpose: 'any' }).reason, 'OK');
  });

  test('the anchor is constrained too: a root or an intermediate anchor with a serverAuth-only EKU', () => {
    assert.equal(check({ anchors: [root({ extensions: caWithEku([EKU.serverAuth]) })] }).reason, 'CA_EKU_CLIENT_AUTH_MISSING');
    assert.equal(check({ anchors: [intermediate({ extensions: caWithEku([EKU.serverAuth]) })], untrusted: [] }).reason, 'CA_EKU_CLIENT_AUTH_MISSING');
  });

  test('a second copy of the intermediate without the restriction still gives a valid path', () => {
    const restricted = intermediate({ extensions: caWithEku([EKU.serverAuth]) });
    for (const untrusted of [[restricted, I], [I, restricted]]) {
      const r = check({ untrusted });
      assert.equal(r.reason, 'OK');
      assert.equal(r.path[1]!.fingerprint, I.fingerprint);
    }
  });
});

describe('validateChain: every candidate path is tried (cross-signed and renewed CAs)', () => {
  const root2Name: NameSpec = [['CN', 'Acme Root G2']];
  const root2Key = testKey('ec-p256', 'root-g2');
  const R2 = cert({ subject: root2Name, key: root2Key, extensions: caExts() });
  // The intermediate's key certified twice: by the old root and, cross-signed, by the new one.
  const I2 = intermediate({ issuer: root2Name, signer: root2Key });
  const notThrough = (fp: string) => (p: readonly ParsedCert[]) => !p.some((c) => c.fingerprint === fp);

  test('given two issuers of the intermediate, when paths through the first are refused by the caller, then the other path is found in either order', () => {
    for (const untrusted of [[I, I2], [I2, I]]) {
      const r = check({ untrusted, anchors: [R, R2], acceptPath: notThrough(R.fingerprint) });
      assert.equal(r.reason, 'OK');
      assert.deepEqual(r.path.map((c) => c.fingerprint), [L, I2, R2].map((c) => c.fingerprint));
      const back = check({ untrusted, anchors: [R, R2], acceptPath: notThrough(R2.fingerprint) });
      assert.deepEqual(back.path.map((c) => c.fingerprint), [L, I, R].map((c) => c.fingerprint));
    }
  });

  test('when every valid path is refused, then the result is invalid and carries the first one as setAside', () => {
    const r = check({ untrusted: [I, I2], anchors: [R, R2], acceptPath: () => false });
    assert.equal(r.valid, false);
    assert.equal(r.setAside!.length, 3);
    assert.equal(r.setAside!.at(-1)!.fingerprint === R.fingerprint || r.setAside!.at(-1)!.fingerprint === R2.fingerprint, true);
    assert.equal(check({ untrusted: [I, I2], anchors: [R, R2] }).setAside, undefined);
  });

  test('a renewed intermediate beside its expired predecessor (same subject and key): valid whichever comes first', () => {
    const expired = intermediate({ notBefore: new Date('2029-01-01T00:00:00Z'), notAfter: new Date('2030-02-01T00:00:00Z') });
    for (const untrusted of [[expired, I], [I, expired]]) assert.equal(check({ untrusted }).reason, 'OK');
    assert.equal(check({ untrusted: [expired] }).reason, 'CERT_EXPIRED');
  });

  test('several registered anchors with the same subject (a root rolled over to a new key): the one that signed is used', () => {
    const oldRoot = root({ key: testKey('ec-p256', 'root-old') });
    const r = check({ anchors: new AnchorSet([oldRoot, R]) });
    assert.equal(r.reason, 'OK');
    assert.equal(r.path.at(-1)!.fingerprint, R.fingerprint);
    assert.equal(check({ anchors: [oldRoot] }).reason, 'SIGNATURE_INVALID');
  });

  test('bounded: the caller is asked about at most maxPaths complete paths', () => {
    // 6 copies of the intermediate (same key) under 6 roots: 6 complete paths.
    const roots: ParsedCert[] = [];
    const ints: ParsedCert[] = [];
    for (let i = 0; i < 6; i++) {
      const k = testKey('ec-p256', `bound-root-${i}`);
      const n: NameSpec = [['CN', `Bound Root ${i}`]];
      roots.push(cert({ subject: n, key: k, extensions: caExts() }));
      ints.push(intermediate({ issuer: n, signer: k }));
    }
    let asked = 0;
    const r = check({ untrusted: ints, anchors: roots, acceptPath: () => (asked++, false), maxPaths: 4 });
    assert.equal(r.valid, false);
    assert.equal(asked, 4);
    asked = 0;
    assert.equal(check({ untrusted: ints, anchors: roots, acceptPath: () => (asked++, false) }).valid, false);
    assert.equal(asked, 6);
  });

  test('AnchorSet.sameCa: registered copies of a CA are those with the same subject and key', () => {
    const set = new AnchorSet([I, I2, R, root({ key: testKey('ec-p256', 'root-old') })]);
    assert.deepEqual(set.sameCa(I).map((c) => c.fingerprint).sort(), [I.fingerprint, I2.fingerprint].sort());
    assert.deepEqual(set.sameCa(R).map((c) => c.fingerprint), [R.fingerprint], 'another key under the same name is another CA');
    const renamed = intermediate({ subject: [['CN', 'Renamed']] });
    assert.deepEqual(set.sameCa(renamed), [], 'the same key under another name is another CA');
    set.delete(I2.fingerprint);
    assert.deepEqual(set.sameCa(I).map((c) => c.fingerprint), [I.fingerprint]);
    set.add(I2);
    assert.equal(set.sameCa(I).length, 2, 'kept up to date after the first lookup');
  });
});
