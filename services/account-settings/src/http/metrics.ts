// account-settings' own metrics (besides NATS and HTTP requests, which every service has): the
// verified-password cache (docs/limits.md), read from the cache's own counts when scraped, so a
// credential check pays nothing.
import type { ServiceMetrics } from '@twoway/telemetry';
import type { VerifiedPasswords } from '../domain/verified-passwords.js';

export function verifiedPasswordMetrics(metrics: ServiceMetrics, verified: VerifiedPasswords): void {
  const p = 'twoway_account_settings_verified_passwords';
  metrics.view(`${p}_hits_total`, 'Credential checks that recognised a recently verified password without scrypt', 'counter', () => [{ labels: {}, value: verified.hits }]);
  metrics.view(`${p}_misses_total`, 'Checks of a known credential that found no usable entry and ran scrypt (no entry, another password, a changed hash, too old)', 'counter', () => [
    { labels: {}, value: verified.misses },
  ]);
  metrics.view(`${p}_evictions_total`, 'Entries dropped to stay within TWOWAY_VERIFIED_PASSWORD_CACHE_MAX (cause=bound) or because their TTL passed (cause=ttl)', 'counter', () => [
    { labels: { cause: 'bound' }, value: verified.evictions },
    { labels: { cause: 'ttl' }, value: verified.expired },
  ]);
  metrics.gauge(`${p}_entries`, 'Credentials whose verified password is remembered', () => verified.size);
}
