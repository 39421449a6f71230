// Step 5 of a change: fetch again, in the background, the trust sets the invalidation dropped (and the
// revoked-serial list a CA's change left sets waiting for). It starts after the kick, so enforcement never
// waits for cert-registry; the next connects (the kicked devices come straight back) then find a warm set,
// or join the fetch in flight, instead of each missing it. Bounded per change in nats/owners.ts
// (refreshTrust).
import type { TrustSnapshot } from '../cache/trust-cache.js';
import type { KickDeps } from './kick.js';

export function refill(dropped: readonly TrustSnapshot[], d: Pick<KickDeps, 'owners' | 'log'>): void {
  // A failure costs only warmth: the next connect that misses the set fetches it.
  d.owners.refreshTrust(dropped, (err) => d.log.debug({ err }, 'trust set refill after a change failed; the next connect fetches it'));
}
