// API tokens: `tw_<tokenId>_<secret>`, the secret 32 random bytes in base64url. Only a SHA-256 hash
// is stored. A fast hash is right here (unlike passwords): the secret has 256 bits of entropy, so
// there is nothing to brute-force, and every API request verifies a token.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '@twoway/contracts';

export const TOKEN_PREFIX = 'tw_';
/** The id of the provider-admin token installed at first start. */
export const BOOTSTRAP_TOKEN_ID = 'bootstrap';

export function newTokenId(): string {
  // hex: no `_`, so the token splits unambiguously.
  return randomBytes(12).toString('hex');
}

export function formatToken(tokenId: string): string {
  return `${TOKEN_PREFIX}${tokenId}_${randomBytes(32).toString('base64url')}`;
}

/** The token id of a `tw_<id>_<secret>` token, or undefined for any other string. */
export function tokenIdOf(token: string): string | undefined {
  const m = /^tw_([A-Za-z0-9-]{1,64})_[A-Za-z0-9_-]{16,}$/.exec(token);
  return m?.[1];
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Which roles a principal may hand out in a new token: never one that can do more than its own.
 * admin ⊇ operator (read) and admin ⊇ provisioner (read + certificates); operator and provisioner
 * do not create tokens at all (token routes are admin-only writes).
 */
export function mayGrant(own: Role, requested: Role): boolean {
  if (own === 'admin') return true;
  return false;
}

/** Why a stored token does not authenticate now, or undefined when it does. */
export function tokenState(row: { expiresAt: Date | null; revokedAt: Date | null }, now: Date): 'UNAUTHENTICATED' | 'TOKEN_EXPIRED' | undefined {
  if (row.revokedAt) return 'UNAUTHENTICATED';
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return 'TOKEN_EXPIRED';
  return undefined;
}
