import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createRootCa, issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { planUpload } from './upload.js';

const now = new Date();
const input = (pem: string, split = false) => ({ accountId: 'acct-a', name: 'Fleet', pem, split });
const refusal = (code: string, message?: RegExp) => (e: unknown) => {
  const err = e as { code?: string; message: string };
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

describe('planUpload', () => {
  let root: Issued, inter: Issued, leaf: Issued, expired: Issued;
  before(async () => {
    root = await createRootCa({ commonName: 'Upload Root' });
    inter = await issueIntermediateCa({ issuer: root, commonName: 'Upload Intermediate' });
    leaf = await issueDeviceCert({ issuer: inter, commonName: 'device-1' });
    expired = await issueDeviceCert({ issuer: inter, commonName: 'old', notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  });

  it('given one root, plans one entry named as asked', () => {
    const [e, ...rest] = planUpload(input(root.certPem), now);
    assert.equal(rest.length, 0);
    assert.equal(e!.name, 'Fleet');
    assert.equal(e!.cert.kind, 'root');
    assert.equal(e!.cert.fingerprint, root.cert.fingerprint);
  });

  it('given a pinned leaf, accepts it', () => {
    assert.equal(planUpload(input(leaf.certPem), now)[0]!.cert.kind, 'leaf');
  });

  it('given a chain file without split, refuses with CERT_MULTIPLE pointing at ?split=true', () => {
    assert.throws(() => planUpload(input(leaf.chainPem + root.certPem), now), refusal('CERT_MULTIPLE', /holds 3 certificates.*certificates\?split=true/s));
  });

  it('given a chain file with split, plans one entry per certificate in file order', () => {
    const entries = planUpload(input(leaf.chainPem + root.certPem, true), now);
    assert.deepEqual(entries.map((e) => [e.name, e.cert.kind]), [
      ['Fleet #1 (leaf)', 'leaf'],
      ['Fleet #2 (intermediate)', 'intermediate'],
      ['Fleet #3 (root)', 'root'],
    ]);
  });

  it('given the same certificate twice in one file, refuses the whole file', () => {
    assert.throws(() => planUpload(input(root.certPem + inter.certPem + root.certPem, true), now), refusal('CERT_DUPLICATE', /entry 3: certificate sha256 [0-9a-f]{64} is already registered.*repeated in this upload/));
  });

  it('given an expired certificate in a chain, refuses the whole file naming the entry', () => {
    assert.throws(() => planUpload(input(root.certPem + expired.certPem, true), now), refusal('CERT_INVALID', /entry 2 \(leaf\): the certificate expired on .*nothing was stored/));
  });

  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys: [string, () => string][] = [
    ['PKCS#8 PRIVATE KEY', () => key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['SEC1 EC PRIVATE KEY', () => key.privateKey.export({ type: 'sec1', format: 'pem' }) as string],
    ['PKCS#1 RSA PRIVATE KEY', () => rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string],
    ['ENCRYPTED PRIVATE KEY', () => key.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string],
    ['OPENSSH PRIVATE KEY', () => '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n-----END OPENSSH PRIVATE KEY-----\n'],
  ];
  for (const [label, pem] of keys) {
    it(`given a certificate followed by a ${label}, refuses with CERT_PRIVATE_KEY_REJECTED and no key bytes in the message`, () => {
      const k = pem();
      const body = k.split('\n')[1]!;
      assert.throws(() => planUpload(input(root.certPem + k), now), (e: unknown) => {
        refusal('CERT_PRIVATE_KEY_REJECTED')(e);
        assert.ok(!(e as Error).message.includes(body.slice(0, 16)));
        return true;
      });
    });
  }

  it('given garbage, refuses with CERT_PEM_INVALID saying what is missing', () => {
    assert.throws(() => planUpload(input('hello world'), now), refusal('CERT_PEM_INVALID', /no PEM block found/));
  });

  it('given a truncated PEM, refuses with CERT_PEM_INVALID', () => {
    const cut = root.certPem.slice(0, Math.floor(root.certPem.length / 2));
    assert.throws(() => planUpload(input(cut), now), refusal('CERT_PEM_INVALID', /truncated/));
  });

  it('given a PEM whose DER is damaged, refuses with CERT_PEM_INVALID', () => {
    const lines = root.certPem.trim().split('\n');
    const damaged = [lines[0], lines[1], lines[2], lines.at(-1)].join('\n');
    assert.throws(() => planUpload(input(damaged), now), refusal('CERT_PEM_INVALID'));
  });
});
