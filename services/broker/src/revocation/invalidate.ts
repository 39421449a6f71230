// Step 2 of revocation: bring the warm caches up to date before any session is touched, so a device
// that reconnects right after being kicked is decided on fresh data. A certificate change, or a CA's
// revocation change, is applied to the trust sets held (one registration's work); a set that cannot be
// updated is dropped.
import type { TrustSnapshot } from '../cache/trust-cache.js';
import type { Caches } from '../nats/owners.js';
import type { Change } from './decode-change.js';

/** Returns the trust sets to refill: dropped, or waiting for a CA's new revoked-serial list. */
export function invalidate(c: Change, caches: Caches): TrustSnapshot[] {
  switch (c.type) {
    case 'cert.status_changed':
    case 'cert.deleted':
    case 'cert.added':
      // Anchors of an account apply to its sub-accounts: every set whose ancestry holds it.
      return caches.trust.applyCertChange(c);
    case 'cert.revocation_changed':
      // Likewise for a CA's revocation data: CRL dates at once; its serials from the cache, else read
      // once for every set that holds the CA (the sets returned wait for it).
      return caches.trust.applyRevocationChange(c);
    case 'settings.changed':
      caches.settings.invalidate(c.account);
      return [];
    case 'credential.changed':
      caches.credentials.invalidate(c.credentialId, c.username);
      return [];
    case 'ignored':
      return [];
  }
}
