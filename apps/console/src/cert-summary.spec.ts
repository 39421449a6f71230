// The chain preview reads subject, issuer and kind as the API will register them (libs/pki is the reference).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { craftCertificate, Ext, testKey } from '@twoway/pki';
import { makeTestPki } from '@twoway/testing';
import { derOfPem, summarize } from './cert-summary.js';

describe('summarize', async () => {
  const pki = await makeTestPki();
  const device = await pki.device('sensor-7');

  for (const [what, cert] of [['a root', pki.root.cert], ['an intermediate', pki.intermediate.cert], ['a device certificate', device.cert]] as const) {
    it(`reads ${what} as libs/pki does`, () => {
      const s = summarize(derOfPem(cert.pem));
      assert.deepEqual({ subject: s.subject, issuer: s.issuer, kind: s.kind, notAfter: s.notAfter?.toISOString() }, {
        subject: cert.subject, issuer: cert.issuer, kind: cert.kind, notAfter: new Date(Math.floor(cert.notAfter.getTime() / 1000) * 1000).toISOString(),
      });
    });
  }

  it('reads several attributes in order, a UTF-8 name and a v1 certificate without extensions', () => {
    const key = testKey('ec-p256', 'summary');
    const c = craftCertificate({ subject: [['C', 'DE'], ['O', 'Fabrik Süd'], ['CN', 'Linie 2']], issuer: [['CN', 'Other CA']], key, version: 1, keyIds: false });
    assert.deepEqual(summarize(derOfPem(c.pem)), { subject: c.subject, issuer: 'CN=Other CA', kind: 'leaf', notAfter: summarize(derOfPem(c.pem)).notAfter });
    const ca = craftCertificate({ subject: [['CN', 'Batch CA']], issuer: [['CN', 'Root']], key, extensions: [Ext.basicConstraints(true)] });
    assert.equal(summarize(derOfPem(ca.pem)).kind, 'intermediate');
  });

  it('refuses what is not a certificate', () => {
    assert.throws(() => summarize(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), /not a certificate/);
    assert.throws(() => summarize(new Uint8Array([0x30, 0x82, 0xff])), /truncated/);
  });
});
