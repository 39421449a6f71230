import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatToken, hashToken, mayGrant, newTokenId, tokenIdOf, tokenMatches, tokenState } from './tokens.js';

describe('tokens', () => {
  it('formats tw_<id>_<secret> with a 32-byte base64url secret, and parses the id back', () => {
    const id = newTokenId();
    const t = formatToken(id);
    const m = /^tw_([0-9a-f]+)_([A-Za-z0-9_-]+)$/.exec(t);
    assert.ok(m);
    assert.equal(m[1], id);
    assert.equal(Buffer.from(m[2]!, 'base64url').length, 32);
    assert.equal(tokenIdOf(t), id);
  });

  it('parses no id from other strings', () => {
    for (const s of ['', 'tw_', 'tw_abc', 'tw_abc_short', 'Bearer x', 'my-dev-token']) assert.equal(tokenIdOf(s), undefined, s);
  });

  it('matches only the token whose hash is stored', () => {
    const t = formatToken(newTokenId());
    assert.equal(tokenMatches(t, hashToken(t)), true);
    assert.equal(tokenMatches(`${t}x`, hashToken(t)), false);
    assert.equal(tokenMatches(t, 'abcd'), false);
  });

  it('states: revoked → UNAUTHENTICATED, expired → TOKEN_EXPIRED, else usable', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    assert.equal(tokenState({ expiresAt: null, revokedAt: null }, now), undefined);
    assert.equal(tokenState({ expiresAt: new Date('2026-01-01T00:00:01Z'), revokedAt: null }, now), undefined);
    assert.equal(tokenState({ expiresAt: now, revokedAt: null }, now), 'TOKEN_EXPIRED');
    assert.equal(tokenState({ expiresAt: null, revokedAt: now }, now), 'UNAUTHENTICATED');
  });

  it('only admins grant roles', () => {
    assert.equal(mayGrant('admin', 'admin'), true);
    assert.equal(mayGrant('admin', 'provisioner'), true);
    assert.equal(mayGrant('operator', 'operator'), false);
    assert.equal(mayGrant('provisioner', 'provisioner'), false);
  });
});
