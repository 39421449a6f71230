// Step 2 of revocation: drop what the change made stale from the warm caches, before any session is
// touched, so a device that reconnects right after being kicked is decided on fresh data.
import type { TrustSnapshot } from '../cache/trust-cache.js';
import type { Caches } from '../nats/owners.js';
import type { Change } from './on-status-changed.js';

/** Returns the trust sets that were dropped. */
export function invalidate(c: Change, caches: Caches): TrustSnapshot[] {
  switch (c.type) {
    case 'cert.status_changed':
    case 'cert.deleted':
    case 'cert.added':
    case 'cert.revocation_changed':
      // Anchors of an account apply to its sub-accounts: every set whose ancestry holds it goes. Parsed
      // certificates and revoked-serial lists stay: a rebuild fetches only the lists whose revision moved.
      return caches.trust.invalidateAccount(c.account);
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
