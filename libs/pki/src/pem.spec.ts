// Upload rules for PEM input (docs/design.md §1): one certificate per entry, private keys refused in
// every encoding, damaged input refused with a message that says what is wrong.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { parseDer, parsePemCertificates, parseSinglePem, sha256Hex } from './certificate.js';
import { containsPrivateKey } from './pem.js';
import { PkiError } from './errors.js';
import { createRootCa, issueDeviceCert } from './issue.js';

const root = await createRootCa({ commonName: 'PEM Spec Root' });
const dev = await issueDeviceCert({ issuer: root, commonName: 'pem-dev' });

function refusedWith(code: string, fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PkiError, `expected a PkiError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('PEM upload rules', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys: Record<string, string> = {
    'PRIVATE KEY (PKCS#8)': ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'EC PRIVATE KEY (SEC1)': ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string,
    'RSA PRIVATE KEY (PKCS#1)': rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    'ENCRYPTED PRIVATE KEY': ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string,
    'OPENSSH PRIVATE KEY': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n',
    'DSA PRIVATE KEY': '-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQD=\n-----END DSA PRIVATE KEY-----\n',
  };
  for (const [label, pem] of Object.entries(keys)) {
    test(`a ${label} is refused, alone or next to a certificate`, () => {
      assert.equal(containsPrivateKey(pem), true);
      refusedWith('CERT_PRIVATE_KEY_REJECTED', () => parsePemCertificates(pem));
      refusedWith('CERT_PRIVATE_KEY_REJECTED', () => parsePemCertificates(dev.certPem + pem));
      refusedWith('CERT_PRIVATE_KEY_REJECTED', () => parseSinglePem(pem + dev.certPem));
    });
  }

  test('the refusal message never echoes the key', () => {
    try {
      parsePemCertificates(keys['PRIVATE KEY (PKCS#8)']!);
      assert.fail('should throw');
    } catch (e) {
      const body = keys['PRIVATE KEY (PKCS#8)']!.split('\n')[1]!;
      assert.ok(!(e as Error).message.includes(body.slice(0, 20)));
    }
  });

  test('a truncated PEM (no END line) is refused and says it is truncated', () => {
    const cut = dev.certPem.slice(0, dev.certPem.length / 2);
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates(cut), /truncated/);
  });

  test('a PEM whose base64 body lost lines is refused', () => {
    const lines = dev.certPem.trim().split('\n');
    const damaged = [lines[0], ...lines.slice(3)].join('\n');
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates(damaged));
  });

  test('garbage, empty input and a non-certificate block are refused', () => {
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates('hello world'), /BEGIN CERTIFICATE/);
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates(''));
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates('-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'));
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates('-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n'));
    refusedWith('CERT_PEM_INVALID', () => parsePemCertificates('-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n'));
  });

  test('multiple certificates: listed by parsePemCertificates, refused by parseSinglePem', () => {
    const two = parsePemCertificates(dev.chainPem + root.certPem);
    assert.deepEqual(two.map((c) => c.kind), ['leaf', 'root']);
    refusedWith('CERT_MULTIPLE', () => parseSinglePem(dev.certPem + root.certPem), /one certificate per entry/);
    assert.equal(parseSinglePem(dev.certPem).fingerprint, dev.cert.fingerprint);
  });

  test('parseDer caches by fingerprint and keeps its own copy of the DER', () => {
    const buf = Buffer.from(dev.cert.der);
    const a = parseDer(buf);
    assert.equal(parseDer(Buffer.from(dev.cert.der)), a);
    buf.fill(0);
    assert.equal(a.fingerprint, dev.cert.fingerprint);
    assert.equal(sha256Hex(a.der), dev.cert.fingerprint);
  });

  test('Windows line endings are accepted', () => {
    assert.equal(parseSinglePem(dev.certPem.replace(/\n/g, '\r\n')).fingerprint, dev.cert.fingerprint);
  });
});
