// makeTestPki: a shared PKI whose devices validate for client auth and whose server certificate
// validates for server auth; `fresh` gives an unrelated PKI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePemCertificates, validateChainSync } from '@twoway/pki';
import { makeTestPki } from './pki-fixtures.js';

test('makeTestPki: cached root and intermediate, fresh devices, a localhost server certificate', async () => {
  const a = await makeTestPki();
  const b = await makeTestPki();
  assert.equal(a.root.cert.fingerprint, b.root.cert.fingerprint, 'built once per process');
  const dev = await a.device('dev-1', { sans: ['dns:dev-1.local'] });
  const [leaf, ...chain] = parsePemCertificates(dev.chainPem);
  const at = new Date();
  assert.equal(validateChainSync({ leaf: leaf!, untrusted: chain, anchors: [a.root.cert], at, purpose: 'client' }).reason, 'OK');
  assert.deepEqual(chain.map((c) => c.fingerprint), [a.intermediate.cert.fingerprint]);
  const direct = await a.device('dev-2', { issuer: 'root' });
  assert.equal(direct.cert.issuer, a.root.cert.subject);
  const expired = await a.device('dev-3', { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-02-01T00:00:00Z') });
  assert.equal(validateChainSync({ leaf: expired.cert, untrusted: [a.intermediate.cert], anchors: [a.root.cert], at, purpose: 'client' }).reason, 'CERT_EXPIRED');
  const [srv, ...srvChain] = parsePemCertificates(a.server.chainPem);
  assert.equal(validateChainSync({ leaf: srv!, untrusted: srvChain, anchors: [a.root.cert], at, purpose: 'server' }).reason, 'OK');
  const other = await makeTestPki({ fresh: true });
  assert.notEqual(other.root.cert.fingerprint, a.root.cert.fingerprint);
  // Same root name, different key: the name matches, the signature cannot.
  assert.equal(validateChainSync({ leaf: dev.cert, untrusted: [a.intermediate.cert], anchors: [other.root.cert], at, purpose: 'client' }).reason, 'SIGNATURE_INVALID');
});
