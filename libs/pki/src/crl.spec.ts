// CRLs: what parseCrl reads and refuses, and what verifyCrl accepts as the CRL of a CA (RFC 5280 §5, §6.3.3).
import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { craftCertificate, craftCrl, Ext, testKey, type CraftCrlOptions } from './craft.js';
import { crlIsStale, normalizeSerial, parseCrl, verifyCrl, CRL_CLOCK_SKEW_MS } from './crl.js';
import { createRootCa } from './issue.js';
import { PkiError } from './errors.js';
import { toPem } from './pem.js';

const key = testKey('ec-p256', 'crl-ca');
const otherKey = testKey('ec-p256', 'crl-other');
const CA_NAME = [['O', 'Acme'], ['CN', 'CRL test CA']] as const;
const ca = craftCertificate({ subject: CA_NAME, key, extensions: [Ext.basicConstraints(true), Ext.keyUsage(['keyCertSign', 'cRLSign'])] });
const now = new Date();
const crl = (o: Partial<CraftCrlOptions> = {}) => craftCrl({ issuer: CA_NAME, signer: key, number: 7, ...o });

/** The PkiError code (and message) a parse throws. */
function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof PkiError) return { code: e.code, message: e.message };
    throw e;
  }
  assert.fail('expected a refusal');
}

describe('normalizeSerial', () => {
  const table: [string, string | undefined][] = [
    ['8F0A', '8f0a'],
    ['00:8f:0a', '8f0a'],
    ['0x008F0A', '8f0a'],
    ['  01 ', '1'],
    ['0', undefined],
    ['00:00', undefined],
    ['xyz', undefined],
    ['', undefined],
    ['f'.repeat(65), undefined],
  ];
  for (const [input, expected] of table) it(`'${input}' → ${expected}`, () => assert.equal(normalizeSerial(input), expected));
});

describe('parseCrl', () => {
  it('reads DER, PEM and base64 alike: dates, number, distinct normalised serials', () => {
    const thisUpdate = new Date('2026-01-01T00:00:00Z');
    const der = crl({
      thisUpdate,
      nextUpdate: new Date('2026-01-08T00:00:00Z'),
      number: 300,
      entries: [{ serial: '00ff01' }, { serial: '0a', reason: 1 }, { serial: 'ff01', reason: 6 }, { serial: Uint8Array.of(0x80, 1) }],
    });
    for (const input of [der, toPem(der, 'X509 CRL'), Buffer.from(der).toString('base64')]) {
      const p = parseCrl(input);
      assert.equal(p.issuer, 'O=Acme, CN=CRL test CA');
      assert.equal(p.thisUpdate.toISOString(), '2026-01-01T00:00:00.000Z');
      assert.equal(p.nextUpdate?.toISOString(), '2026-01-08T00:00:00.000Z');
      assert.equal(p.number, 300n);
      // A serial listed twice counts once; a negative one can revoke no valid certificate and is left out.
      assert.deepEqual(p.serials, ['ff01', 'a']);
      assert.equal(p.entries, 4);
    }
  });

  it('agrees with @peculiar/x509 on a CRL its generator made (an independent encoder)', async () => {
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    const root = await createRootCa({ commonName: 'Peculiar CRL root' });
    const signingKey = await webcrypto.subtle.importKey('pkcs8', Buffer.from(root.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const made = await x509.X509CrlGenerator.create({
      issuer: root.cert.x.subjectName,
      thisUpdate: new Date(Date.now() - 1000),
      nextUpdate: new Date(Date.now() + 86_400_000),
      entries: [{ serialNumber: '01f3', revocationDate: new Date(), reason: x509.X509CrlReason.keyCompromise }, { serialNumber: root.cert.serial, revocationDate: new Date() }],
      signingKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const p = parseCrl(made.toString('pem'));
    assert.deepEqual(p.serials, made.entries.map((e) => normalizeSerial(e.serialNumber)));
    assert.equal(p.thisUpdate.getTime(), made.thisUpdate.getTime());
    assert.equal(p.nextUpdate?.getTime(), made.nextUpdate?.getTime());
    assert.deepEqual(verifyCrl(p, root.cert, new Date()), { ok: true });
  });

  it('reads a CRL without nextUpdate, entries or number (v1)', () => {
    const p = parseCrl(crl({ version: 1, number: undefined, nextUpdate: null }));
    assert.equal(p.nextUpdate, undefined);
    assert.equal(p.number, undefined);
    assert.deepEqual(p.serials, []);
  });

  it('accepts an issuingDistributionPoint that only names the distribution point, and unknown non-critical extensions', () => {
    const idp = { oid: '2.5.29.28', critical: true, value: Uint8Array.from([0x30, 0x0b, 0xa0, 0x09, 0xa0, 0x07, 0x86, 0x05, ...Buffer.from('http:')]) };
    assert.deepEqual(parseCrl(crl({ extensions: [idp, Ext.raw('1.3.6.1.4.1.55738.1', false)] })).serials, []);
  });

  const refusals: [string, () => unknown, string, RegExp][] = [
    ['garbage', () => parseCrl('not a crl at all!'), 'CRL_INVALID', /neither DER nor valid PEM/],
    ['empty', () => parseCrl('   '), 'CRL_INVALID', /empty input/],
    ['a certificate', () => parseCrl(ca.pem), 'CRL_INVALID', /CERTIFICATE, not an X509 CRL/],
    ['a private key', () => parseCrl(`${toPem(crl(), 'X509 CRL')}-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n`), 'CERT_PRIVATE_KEY_REJECTED', /private key/],
    ['truncated DER', () => parseCrl(crl().subarray(0, 60)), 'CRL_INVALID', /could not be decoded/],
    ['trailing bytes', () => parseCrl(Uint8Array.from([...crl(), 0])), 'CRL_INVALID', /trailing bytes/],
    ['two PEM blocks', () => parseCrl(toPem(crl(), 'X509 CRL') + toPem(crl(), 'X509 CRL')), 'CRL_INVALID', /more than one PEM block/],
    ['truncated PEM', () => parseCrl(toPem(crl(), 'X509 CRL').slice(0, 100)), 'CRL_INVALID', /truncated/],
    ['algorithms that differ inside and outside', () => parseCrl(crl({ mismatchedAlgorithm: true })), 'CRL_INVALID', /§5\.1\.1\.2/],
    ['nextUpdate before thisUpdate', () => parseCrl(crl({ thisUpdate: now, nextUpdate: new Date(now.getTime() - 1000) })), 'CRL_INVALID', /before thisUpdate/],
    ['a v1 CRL with extensions', () => parseCrl(crl({ version: 1 })), 'CRL_INVALID', /need v2/],
    ['removeFromCRL in a complete CRL', () => parseCrl(crl({ entries: [{ serial: '05', reason: 8 }] })), 'CRL_INVALID', /removeFromCRL/],
    ['a delta CRL', () => parseCrl(crl({ extensions: [{ oid: '2.5.29.27', critical: true, value: Uint8Array.of(0x02, 0x01, 0x05) }] })), 'CRL_UNSUPPORTED', /delta CRLs are not supported/],
    ['an indirect CRL', () => parseCrl(crl({ extensions: [{ oid: '2.5.29.28', critical: true, value: Uint8Array.of(0x30, 0x03, 0x84, 0x01, 0xff) }] })), 'CRL_UNSUPPORTED', /indirect/],
    ['a CRL for some reasons only', () => parseCrl(crl({ extensions: [{ oid: '2.5.29.28', critical: true, value: Uint8Array.of(0x30, 0x04, 0x83, 0x02, 0x07, 0x80) }] })), 'CRL_UNSUPPORTED', /some revocation reasons/],
    ['an unknown critical CRL extension', () => parseCrl(crl({ extensions: [Ext.raw('1.3.6.1.4.1.55738.2', true)] })), 'CRL_UNSUPPORTED', /critical extension 1\.3\.6\.1\.4\.1\.55738\.2/],
    ['an entry naming another issuer', () => parseCrl(crl({ entries: [{ serial: '05', extensions: [{ oid: '2.5.29.29', critical: true, value: Uint8Array.of(0x30, 0x00) }] }] })), 'CRL_UNSUPPORTED', /certificateIssuer/],
    ['an unknown critical entry extension', () => parseCrl(crl({ entries: [{ serial: '05', extensions: [Ext.raw('1.3.6.1.4.1.55738.3', true)] }] })), 'CRL_UNSUPPORTED', /entry 5 carries the critical extension/],
    ['a CRL over the size bound', () => parseCrl(crl({ entries: [{ serial: '01' }, { serial: '02' }] }), { maxBytes: 64 }), 'PAYLOAD_TOO_LARGE', /larger than 64 bytes/],
  ];
  for (const [what, f, code, message] of refusals) {
    it(`refuses ${what}: ${code}`, () => {
      const r = refusal(f);
      assert.equal(r.code, code);
      assert.match(r.message, message);
    });
  }

  it('reads 100,000 entries (the time is printed, not asserted)', () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => ({ serial: (0x10000000 + i).toString(16) }));
    const der = crl({ entries });
    const t0 = performance.now();
    const p = parseCrl(der);
    const ms = performance.now() - t0;
    assert.equal(p.serials.length, 100_000);
    console.log(`parseCrl: 100,000 entries, ${der.length} bytes DER, ${ms.toFixed(0)} ms`);
  });
});

describe('verifyCrl', () => {
  const at = now;
  const verdicts: [string, () => ReturnType<typeof verifyCrl>, string | undefined, RegExp?][] = [
    ['the CA\'s own CRL', () => verifyCrl(parseCrl(crl()), ca, at), undefined],
    ['names that match under RFC 5280 §7.1 (case and spacing)', () => verifyCrl(parseCrl(crl({ issuer: [['O', 'ACME'], ['CN', 'crl  test ca']] })), ca, at), undefined],
    ['a CRL a little ahead of our clock', () => verifyCrl(parseCrl(crl({ thisUpdate: new Date(at.getTime() + CRL_CLOCK_SKEW_MS - 60_000) })), ca, at), undefined],
    ['a CRL past its nextUpdate (staleness is the caller\'s policy)', () => verifyCrl(parseCrl(crl({ thisUpdate: new Date(at.getTime() - 9e8), nextUpdate: new Date(at.getTime() - 1000) })), ca, at), undefined],
    // @peculiar/x509's X509Crl.verify({ publicKey: cert }) imports the key with the certificate's hash and answers false here.
    ['an RSA CA\'s SHA-256 CRL when its own certificate is signed with SHA-384', () => verifyCrl(parseCrl(crl({ signer: testKey('rsa-2048', 'crl-rsa'), hash: 'sha256' })), craftCertificate({ subject: CA_NAME, key: testKey('rsa-2048', 'crl-rsa'), hash: 'sha384', extensions: [Ext.basicConstraints(true)] }), at), undefined],
    ['a CRL signed by another key under the same name', () => verifyCrl(parseCrl(crl({ signer: otherKey })), ca, at), 'CRL_SIGNATURE_INVALID', /signed by another key/],
    ['a damaged signature', () => verifyCrl(parseCrl(crl({ corruptSignature: true })), ca, at), 'CRL_SIGNATURE_INVALID'],
    ['another CA\'s name', () => verifyCrl(parseCrl(crl({ issuer: [['CN', 'Someone else']] })), ca, at), 'CRL_ISSUER_MISMATCH', /issued by 'CN=Someone else'/],
    ['a CRL from the future', () => verifyCrl(parseCrl(crl({ thisUpdate: new Date(at.getTime() + CRL_CLOCK_SKEW_MS + 60_000) })), ca, at), 'CRL_INVALID', /in the future/],
    ['a SHA-1 signature', () => verifyCrl(parseCrl(crl({ signer: testKey('rsa-2048', 'crl-rsa'), hash: 'sha1' })), craftCertificate({ subject: CA_NAME, key: testKey('rsa-2048', 'crl-rsa'), extensions: [Ext.basicConstraints(true)] }), at), 'CRL_UNSUPPORTED', /weak|SHA-1|sha1/i],
    ['a CA whose keyUsage lacks cRLSign', () => verifyCrl(parseCrl(crl()), craftCertificate({ subject: CA_NAME, key, extensions: [Ext.basicConstraints(true), Ext.keyUsage(['keyCertSign'])] }), at), 'CRL_SIGNATURE_INVALID', /cRLSign/],
    ['a leaf certificate', () => verifyCrl(parseCrl(crl()), craftCertificate({ subject: CA_NAME, key }), at), 'CERT_NOT_CA', /not a CA/],
  ];
  for (const [what, f, code, message] of verdicts) {
    it(`${code ? 'refuses' : 'accepts'} ${what}${code ? `: ${code}` : ''}`, () => {
      const v = f();
      if (!code) return assert.deepEqual(v, { ok: true });
      assert.equal(v.ok, false);
      if (!v.ok) {
        assert.equal(v.code, code);
        if (message) assert.match(v.detail, message);
      }
    });
  }

  it('calls a CRL stale only past its nextUpdate, never one without', () => {
    assert.equal(crlIsStale(new Date(now.getTime() - 1), now), true);
    assert.equal(crlIsStale(new Date(now.getTime() + 1), now), false);
    assert.equal(crlIsStale(undefined, now), false);
  });
});
