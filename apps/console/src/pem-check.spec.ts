// The Add dialog's PEM check: what it accepts, and what it refuses before anything is sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTestPki } from '@twoway/testing';
import { checkPem } from './pem-check.js';

describe('checkPem', async () => {
  const pki = await makeTestPki();

  it('accepts one certificate and returns it normalised (explanatory text around it dropped)', () => {
    const r = checkPem(`subject=CN = twoway test root\r\n${pki.root.certPem.replace(/\n/g, '\r\n')}`);
    assert.equal(r.ok, true);
    assert.ok(r.ok && r.pem.startsWith('-----BEGIN CERTIFICATE-----\n') && r.pem.endsWith('-----END CERTIFICATE-----\n'));
    assert.ok(r.ok && !r.pem.includes('subject='));
  });

  const refused: [string, () => string, string, RegExp][] = [
    ['empty input', () => '  ', 'CERT_PEM_INVALID', /Paste/],
    ['a PKCS#8 private key', () => pki.root.keyPem, 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['a certificate with its key', () => pki.root.certPem + pki.root.keyPem, 'CERT_PRIVATE_KEY_REJECTED', /not sent/],
    ['a PKCS#1 RSA key', () => '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----', 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['an OpenSSH key', () => '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----', 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['a chain of two', () => pki.intermediate.certPem + pki.root.certPem, 'CERT_MULTIPLE', /2 certificates/],
    ['no BEGIN line', () => 'MIIBkTCCATegAwIBAgIU', 'CERT_PEM_INVALID', /BEGIN CERTIFICATE/],
    ['no END line', () => pki.root.certPem.replace('-----END CERTIFICATE-----', ''), 'CERT_PEM_INVALID', /END CERTIFICATE----- line is missing/],
    ['a CSR', () => '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----', 'CERT_PEM_INVALID', /signing request/],
    ['broken base64', () => '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----', 'CERT_PEM_INVALID', /base64/],
    ['base64 that is not DER', () => `-----BEGIN CERTIFICATE-----\n${btoa('x'.repeat(200))}\n-----END CERTIFICATE-----`, 'CERT_PEM_INVALID', /DER/],
  ];
  for (const [what, input, code, message] of refused) {
    it(`refuses ${what}`, () => {
      const r = checkPem(input());
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.code === code, `code ${!r.ok ? r.code : ''}`);
      assert.match(!r.ok ? r.message : '', message);
    });
  }
});
