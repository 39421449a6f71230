// The key type a certificate is registered and shown with, read from the DER: the same names Node's
// KeyObject gives, for every key type the registry meets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { craftCertificate, testKey, type KeyPair } from './craft.js';

function viaKeyObject(k: KeyPair): string {
  const o = k.publicKey;
  const d = o.asymmetricKeyDetails ?? {};
  if (o.asymmetricKeyType === 'ec') return `EC ${({ prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' } as Record<string, string>)[d.namedCurve!] ?? d.namedCurve}`;
  if (o.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength}`;
  if (o.asymmetricKeyType === 'ed25519') return 'Ed25519';
  return String(o.asymmetricKeyType);
}

describe('keyType', () => {
  const keys: [string, KeyPair][] = [
    ['ec-p256', testKey('ec-p256', 'kt')],
    ['ec-p384', testKey('ec-p384', 'kt')],
    ['ec-p521', generateKeyPairSync('ec', { namedCurve: 'secp521r1' })],
    ['ec-p192', testKey('ec-p192', 'kt')],
    ['rsa-1024', testKey('rsa-1024', 'kt')],
    ['rsa-2048', testKey('rsa-2048', 'kt')],
    ['rsa-1025 (odd size)', generateKeyPairSync('rsa', { modulusLength: 1025 })],
    ['ed25519', testKey('ed25519', 'kt')],
    ['dsa-2048', testKey('dsa-2048', 'kt')],
  ];
  for (const [name, k] of keys) {
    it(`given a ${name} key, then it is named as Node names it`, () => {
      assert.equal(craftCertificate({ subject: [['CN', name]], key: k }).keyType, viaKeyObject(k));
    });
  }
});
