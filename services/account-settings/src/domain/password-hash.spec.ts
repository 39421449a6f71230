import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword, SCRYPT_LOG2_N } from './password-hash.js';

describe('password hash', () => {
  it('verifies the right password only, and stores no plain text', async () => {
    const h = await hashPassword('correct horse battery');
    assert.match(h, new RegExp(`^scrypt\\$${SCRYPT_LOG2_N}\\$8\\$1\\$`));
    assert.equal(h.includes('correct horse'), false);
    assert.equal(await verifyPassword('correct horse battery', h), true);
    assert.equal(await verifyPassword('correct horse batterY', h), false);
  });

  it('salts: the same password hashes differently twice', async () => {
    assert.notEqual(await hashPassword('same-password', 10), await hashPassword('same-password', 10));
  });

  it('verifies hashes made with another cost (the cost lives in the hash)', async () => {
    assert.equal(await verifyPassword('pw-123456', await hashPassword('pw-123456', 10)), true);
  });
});
