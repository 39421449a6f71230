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
    assert.deepEqual(r.ok && r.pems, [pki.root.cert.pem]);
  });

  it('accepts a chain file as its certificates in file order, for a split upload', () => {
    const r = checkPem(`${pki.intermediate.certPem}\n# the root\n${pki.root.certPem}`);
    assert.deepEqual(r.ok && r.pems, [pki.intermediate.cert.pem, pki.root.cert.pem]);
  });

  const refused: [string, () => string, string, RegExp][] = [
    ['empty input', () => '  ', 'CERT_PEM_INVALID', /Paste/],
    ['a PKCS#8 private key', () => pki.root.keyPem, 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['a certificate with its key', () => pki.root.certPem + pki.root.keyPem, 'CERT_PRIVATE_KEY_REJECTED', /not sent/],
    ['a PKCS#1 RSA key', () => '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----', 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['an OpenSSH key', () => '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----', 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['more certificates than one split upload takes', () => pki.root.certPem.repeat(33), 'CERT_MULTIPLE', /holds 33 certificates; at most 32/],
    ['a chain with one damaged entry, naming it', () => pki.root.certPem + '-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----', 'CERT_PEM_INVALID', /^Certificate 2 of 2: the text/],
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
