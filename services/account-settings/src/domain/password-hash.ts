// Device passwords: scrypt (RFC 7914) with N=2^15, r=8, p=1, 16-byte salt, 32-byte key, stored as
// `scrypt$<log2N>$<r>$<p>$<salt b64>$<hash b64>` so the cost can be raised later without breaking old
// hashes. Measured cost on the 2-core development machine: ~63 ms per hash (2^14: ~25 ms, 2^16:
// ~125 ms), 32 MiB of memory, run on libuv's thread pool so the event loop stays free. The broker
// caches verified credentials per replica, and account-settings remembers passwords it verified
// (verified-passwords.ts), so a reconnect storm does not pay this per connect.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_LOG2_N = 15;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function scrypt(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: 128 × N × r bytes are needed; leave headroom above node's 32 MiB default.
    scryptCb(password, salt, KEY_BYTES, { ...o, maxmem: 256 * o.N! * o.r! }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string, log2N = SCRYPT_LOG2_N): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, { N: 2 ** log2N, r: SCRYPT_R, p: SCRYPT_P });
  return ['scrypt', log2N, SCRYPT_R, SCRYPT_P, salt.toString('base64'), key.toString('base64')].join('$');
}

export class PasswordHashFormatError extends Error {
  override name = 'PasswordHashFormatError';
}

/** Constant-time verification against a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new PasswordHashFormatError('unknown password hash format');
  const [, log2N, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scrypt(password, Buffer.from(saltB64, 'base64'), { N: 2 ** Number(log2N), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Hashing and verifying as one value, so the credential check can be given a counting one in tests. */
export interface PasswordHashing {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}
export const scryptHashing: PasswordHashing = { hash: (password) => hashPassword(password), verify: verifyPassword };
