// The broker's warm caches made from its settings, each bounded (docs/limits.md), and their counts
// for /metrics: entries and evictions per cache, the libs/pki caches included.
import { configurePkiCaches, pkiCacheStats } from '@twoway/pki';
import type { Logger } from '@twoway/telemetry';
import type { BrokerConfig } from '../config.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { Caches } from '../nats/owners.js';
import { CredentialCache } from './credential-cache.js';
import { SettingsCache } from './settings-cache.js';
import { TrustCache } from './trust-cache.js';

/** How often expired credentials are swept (a TTL shorter than this is swept every TTL). */
const SWEEP_EVERY_MS = 60_000;

type Bounds = Pick<
  BrokerConfig,
  'credentialCacheTtlMs' | 'credentialCacheMax' | 'settingsCacheMax' | 'trustSetsCacheMax' | 'trustParsedCacheMax' | 'revocationListsCacheMax' | 'certParseCacheMax' | 'certFactsCacheMax' | 'signatureCacheMax'
>;

export function createCaches(cfg: Bounds, log: Logger): Caches {
  configurePkiCaches({ parsedCertificates: cfg.certParseCacheMax, certFacts: cfg.certFactsCacheMax, signatures: cfg.signatureCacheMax });
  return {
    trust: new TrustCache({ sets: cfg.trustSetsCacheMax, parsed: cfg.trustParsedCacheMax, revocationLists: cfg.revocationListsCacheMax }, (e, err) =>
      log.error({ err, certificateId: e.id, account: e.accountId }, 'a registered certificate does not parse; it is not an anchor'),
    ),
    settings: new SettingsCache(cfg.settingsCacheMax),
    credentials: new CredentialCache(cfg.credentialCacheTtlMs, cfg.credentialCacheMax),
  };
}

/** Sweep expired credentials periodically; returns the stop function (clears the timer). */
export function sweepExpired(caches: Caches, ttlMs: number, now: () => number = Date.now): () => void {
  if (ttlMs === 0) return () => undefined;
  const t = setInterval(() => caches.credentials.sweep(now()), Math.max(1_000, Math.min(ttlMs, SWEEP_EVERY_MS)));
  t.unref();
  return () => clearInterval(t);
}

/** Register the cache series: `twoway_broker_cache_entries{cache}` and `twoway_broker_cache_evictions_total{cache,cause}`. */
export function cacheMetrics(caches: Caches, metrics: BrokerMetrics): void {
  const entries = () => [
    { cache: 'credential', size: caches.credentials.size },
    { cache: 'settings', size: caches.settings.size },
    { cache: 'trust_sets', size: caches.trust.size },
    { cache: 'trust_parsed', size: caches.trust.parsedSize },
    { cache: 'revocation_lists', size: caches.trust.revocationListsSize },
    ...pkiCacheStats().map((s) => ({ cache: `pki_${s.name}`, size: s.size })),
  ];
  metrics.view('twoway_broker_cache_entries', 'Entries in each bounded cache', 'gauge', () => entries().map((e) => ({ labels: { cache: e.cache }, value: e.size })));
  metrics.view('twoway_broker_cache_evictions_total', 'Cache entries dropped to stay within the bound (cause=bound) or because their TTL passed (cause=ttl)', 'counter', () => {
    const ev = caches.trust.evictions;
    return [
      { labels: { cache: 'credential', cause: 'bound' }, value: caches.credentials.evictions },
      { labels: { cache: 'credential', cause: 'ttl' }, value: caches.credentials.expired },
      { labels: { cache: 'settings', cause: 'bound' }, value: caches.settings.evictions },
      { labels: { cache: 'trust_sets', cause: 'bound' }, value: ev.sets },
      { labels: { cache: 'trust_parsed', cause: 'bound' }, value: ev.parsed },
      { labels: { cache: 'revocation_lists', cause: 'bound' }, value: ev.revocationLists },
      ...pkiCacheStats().map((s) => ({ labels: { cache: `pki_${s.name}`, cause: 'bound' }, value: s.evictions })),
    ];
  });
  metrics.gauge('twoway_broker_revoked_serials', 'Revoked serials held by the cached revocation lists (CRL entries and revoked-serial entries of registered CAs)', () => caches.trust.revokedSerialsHeld);
}
