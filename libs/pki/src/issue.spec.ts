// Issuing: what createRootCa / issueIntermediateCa / issueDeviceCert / issueServerCert put in a
// certificate, checked through our own parser and validator.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createRootCa, issueDeviceCert, issueIntermediateCa, issueServerCert } from './issue.js';
import { parsePemCertificates } from './certificate.js';
import { factsOf, Oid } from './cert-facts.js';
import { validateChainSync } from './validate.js';

describe('issuing', () => {
  test('a root, an intermediate with pathLen 0, a device: fields, extensions and chain files', async () => {
    const root = await createRootCa({ commonName: 'Issue Root', days: 30 });
    assert.equal(root.cert.kind, 'root');
    assert.equal(root.cert.keyType, 'EC P-256');
    assert.equal(root.chainPem, root.certPem);
    const ica = await issueIntermediateCa({ issuer: root, commonName: 'Issue ICA', pathLen: 0 });
    assert.equal(ica.cert.kind, 'intermediate');
    assert.equal(ica.cert.pathLen, 0);
    assert.equal(ica.cert.issuer, 'CN=Issue Root');
    assert.equal(parsePemCertificates(ica.chainPem).length, 1, 'the chain stops before the root');
    const dev = await issueDeviceCert({ issuer: ica, commonName: 'dev-7', sans: ['dns:dev-7.example', 'ip:10.0.0.7', 'uri:urn:dev:7', 'dev7.local'] });
    assert.equal(dev.cert.kind, 'leaf');
    assert.deepEqual(dev.cert.sans, ['dns:dev-7.example', 'ip:10.0.0.7', 'url:urn:dev:7', 'dns:dev7.local']);
    assert.deepEqual(parsePemCertificates(dev.chainPem).map((c) => c.commonName), ['dev-7', 'Issue ICA']);
    const f = factsOf(dev.cert.der, dev.cert.fingerprint);
    assert.deepEqual(f.eku, [Oid.ekuClientAuth]);
    assert.equal(f.keyUsage, 1, 'digitalSignature only');
    assert.deepEqual(f.basicConstraints, { ca: false, pathLen: undefined });
    assert.ok(f.ski && f.akiKeyId);
    assert.equal(f.akiKeyId, factsOf(ica.cert.der, ica.cert.fingerprint).ski);
    // The key is PKCS#8 and belongs to the certificate.
    assert.match(dev.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    const pub = createPublicKey(createPrivateKey(dev.keyPem)).export({ type: 'spki', format: 'der' });
    assert.deepEqual(new Uint8Array(pub), f.spkiDer);
    assert.equal(validateChainSync({ leaf: dev.cert, untrusted: parsePemCertificates(dev.chainPem).slice(1), anchors: [root.cert], at: new Date(), purpose: 'client' }).reason, 'OK');
  });

  test('a renewed and a cross-signed copy of an intermediate certify the same key: one device validates through each', async () => {
    const root = await createRootCa({ commonName: 'Copy Root' });
    const other = await createRootCa({ commonName: 'Copy Root G2' });
    const ica = await issueIntermediateCa({ issuer: root, commonName: 'Copy ICA' });
    const renewed = await issueIntermediateCa({ issuer: root, commonName: 'Copy ICA', keyPem: ica.keyPem });
    const cross = await issueIntermediateCa({ issuer: other, commonName: 'Copy ICA', keyPem: ica.keyPem });
    const spki = (c: { cert: { der: Uint8Array; fingerprint: string } }) => Buffer.from(factsOf(c.cert.der, c.cert.fingerprint).spkiDer).toString('hex');
    assert.equal(spki(renewed), spki(ica));
    assert.equal(spki(cross), spki(ica));
    assert.notEqual(renewed.cert.fingerprint, ica.cert.fingerprint);
    assert.equal(cross.cert.issuer, 'CN=Copy Root G2');
    const dev = await issueDeviceCert({ issuer: ica, commonName: 'dev-copy' });
    const at = new Date();
    assert.equal(validateChainSync({ leaf: dev.cert, untrusted: [renewed.cert], anchors: [root.cert], at, purpose: 'client' }).reason, 'OK');
    assert.equal(validateChainSync({ leaf: dev.cert, untrusted: [cross.cert], anchors: [other.cert], at, purpose: 'client' }).reason, 'OK');
  });

  test('serials are 16 random positive bytes', async () => {
    const root = await createRootCa({ commonName: 'Serial Root' });
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) serials.add((await issueDeviceCert({ issuer: root, commonName: `s${i}` })).cert.serial);
    assert.equal(serials.size, 5);
    for (const s of serials) {
      assert.equal(s.length, 32);
      assert.ok(parseInt(s.slice(0, 2), 16) < 0x80);
    }
  });

  test('RSA and P-384 keys; a server certificate carries serverAuth and its SANs', async () => {
    const root = await createRootCa({ commonName: 'RSA Root', keyAlgorithm: 'rsa-2048' });
    assert.equal(root.cert.keyType, 'RSA 2048');
    const srv = await issueServerCert({ issuer: root, commonName: 'localhost', sans: ['dns:localhost', 'ip:127.0.0.1'], keyAlgorithm: 'ec-p384' });
    assert.equal(srv.cert.keyType, 'EC P-384');
    assert.deepEqual(factsOf(srv.cert.der, srv.cert.fingerprint).eku, [Oid.ekuServerAuth]);
    assert.deepEqual(srv.cert.sans, ['dns:localhost', 'ip:127.0.0.1']);
    assert.equal(validateChainSync({ leaf: srv.cert, untrusted: [], anchors: [root.cert], at: new Date(), purpose: 'server' }).reason, 'OK');
  });

  test('explicit validity dates, and bad input refused with a reason', async () => {
    const root = await createRootCa({ commonName: 'Dates Root', notBefore: new Date('2020-01-01T00:00:00Z'), days: 36500 });
    const nb = new Date('2021-01-01T00:00:00Z');
    const na = new Date('2021-02-01T00:00:00Z');
    const dev = await issueDeviceCert({ issuer: root, commonName: 'old', notBefore: nb, notAfter: na });
    assert.equal(dev.cert.notBefore.toISOString(), nb.toISOString());
    assert.equal(dev.cert.notAfter.toISOString(), na.toISOString());
    assert.equal(validateChainSync({ leaf: dev.cert, untrusted: [], anchors: [root.cert], at: new Date(), purpose: 'client' }).reason, 'CERT_EXPIRED');
    await assert.rejects(issueDeviceCert({ issuer: root, commonName: 'bad\ncn' }), { code: 'BAD_REQUEST' });
    await assert.rejects(issueDeviceCert({ issuer: dev, commonName: 'x' }), { code: 'CERT_INVALID' });
    await assert.rejects(issueDeviceCert({ issuer: { certPem: root.certPem, keyPem: 'nope' }, commonName: 'x' }), /issuer key/);
  });
});
