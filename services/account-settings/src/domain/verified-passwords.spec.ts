// VerifiedPasswords: only the password verified against the credential's current stored hash, within
// the TTL, matches; bounded, least recently used first. Time is passed in.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VerifiedPasswords } from './verified-passwords.js';

const HASH = 'scrypt$15$8$1$c2FsdA==$aGFzaA==';
const OTHER_HASH = 'scrypt$15$8$1$bmV3c2FsdA==$bmV3aGFzaA==';
const TTL = 60_000;

const given = (maxEntries = 10, ttlMs = TTL) => new VerifiedPasswords({ maxEntries, ttlMs });
const counts = (v: VerifiedPasswords) => ({ hits: v.hits, misses: v.misses, expired: v.expired, evictions: v.evictions, size: v.size });

describe('VerifiedPasswords', () => {
  it('given a remembered password, the same password against the same stored hash hits', () => {
    const v = given();
    v.remember('cred-1', HASH, 'right-password', 0);
    assert.equal(v.matches('cred-1', HASH, 'right-password', 1_000), true);
    assert.deepEqual(counts(v), { hits: 1, misses: 0, expired: 0, evictions: 0, size: 1 });
  });

  it('given nothing remembered, misses', () => {
    const v = given();
    assert.equal(v.matches('cred-1', HASH, 'right-password', 0), false);
    assert.deepEqual(counts(v), { hits: 0, misses: 1, expired: 0, evictions: 0, size: 0 });
  });

  it('given a remembered password, another password misses and leaves the entry for the right one', () => {
    const v = given();
    v.remember('cred-1', HASH, 'right-password', 0);
    for (const wrong of ['wrong-password', 'right-passwor', 'right-password ', '', 'Right-password']) assert.equal(v.matches('cred-1', HASH, wrong, 1_000), false, wrong);
    assert.equal(v.matches('cred-1', HASH, 'right-password', 1_000), true);
    assert.deepEqual(counts(v), { hits: 1, misses: 5, expired: 0, evictions: 0, size: 1 });
  });

  it('given a remembered password, a changed stored hash (password changed elsewhere) misses with that same password', () => {
    const v = given();
    v.remember('cred-1', HASH, 'right-password', 0);
    assert.equal(v.matches('cred-1', OTHER_HASH, 'right-password', 1_000), false);
  });

  it('given a remembered password, another credential id misses', () => {
    const v = given();
    v.remember('cred-1', HASH, 'right-password', 0);
    assert.equal(v.matches('cred-2', HASH, 'right-password', 1_000), false);
  });

  it('given an entry as old as the TTL, misses and drops it; a hit does not extend the TTL', () => {
    const v = given();
    v.remember('cred-1', HASH, 'right-password', 0);
    assert.equal(v.matches('cred-1', HASH, 'right-password', TTL - 1), true);
    assert.equal(v.matches('cred-1', HASH, 'right-password', TTL), false);
    assert.deepEqual(counts(v), { hits: 1, misses: 1, expired: 1, evictions: 0, size: 0 });
  });

  it('given a TTL of 0, remembers nothing (the cache is off)', () => {
    const v = given(10, 0);
    v.remember('cred-1', HASH, 'right-password', 0);
    assert.equal(v.matches('cred-1', HASH, 'right-password', 0), false);
    assert.equal(v.size, 0);
  });

  it('given a full cache, a new entry evicts only the least recently used one', () => {
    const v = given(2);
    v.remember('a', HASH, 'pw-a', 0);
    v.remember('b', HASH, 'pw-b', 0);
    assert.equal(v.matches('a', HASH, 'pw-a', 1), true); // a is now the most recent
    v.remember('c', HASH, 'pw-c', 2);
    assert.deepEqual(counts(v), { hits: 1, misses: 0, expired: 0, evictions: 1, size: 2 });
    assert.equal(v.matches('b', HASH, 'pw-b', 3), false);
    assert.equal(v.matches('a', HASH, 'pw-a', 3), true);
    assert.equal(v.matches('c', HASH, 'pw-c', 3), true);
  });

  it('given a flood of credentials, keeps exactly its bound of the newest', () => {
    const v = given(100);
    for (let i = 0; i < 1_000; i++) v.remember(`cred-${i}`, HASH, `pw-${i}`, i);
    assert.equal(v.size, 100);
    assert.equal(v.evictions, 900);
    assert.equal(v.matches('cred-999', HASH, 'pw-999', 1_000), true);
    assert.equal(v.matches('cred-899', HASH, 'pw-899', 1_000), false);
  });

  it('given an expired least recently used entry, a new entry takes its room instead of evicting a live one', () => {
    const v = given(2);
    v.remember('old', HASH, 'pw-old', 0);
    v.remember('live', HASH, 'pw-live', TTL - 10);
    v.remember('new', HASH, 'pw-new', TTL);
    assert.deepEqual(counts(v), { hits: 0, misses: 0, expired: 1, evictions: 0, size: 2 });
    assert.equal(v.matches('live', HASH, 'pw-live', TTL), true);
  });

  it('a wrong password does not refresh recency: the entry still leaves first at the bound', () => {
    const v = given(2);
    v.remember('a', HASH, 'pw-a', 0);
    v.remember('b', HASH, 'pw-b', 0);
    assert.equal(v.matches('a', HASH, 'guess', 1), false);
    v.remember('c', HASH, 'pw-c', 2);
    assert.equal(v.matches('a', HASH, 'pw-a', 3), false);
    assert.equal(v.matches('b', HASH, 'pw-b', 3), true);
  });

  it('forget drops the entry; remembering again replaces the old password', () => {
    const v = given();
    v.remember('cred-1', HASH, 'first', 0);
    v.forget('cred-1');
    assert.equal(v.matches('cred-1', HASH, 'first', 1), false);
    v.remember('cred-1', HASH, 'first', 1);
    v.remember('cred-1', OTHER_HASH, 'second', 2);
    assert.equal(v.matches('cred-1', HASH, 'first', 3), false);
    assert.equal(v.matches('cred-1', OTHER_HASH, 'second', 3), true);
  });
});
