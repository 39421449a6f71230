// The process-wide caches of libs/pki (parsed certificates, decoded facts, signature checks): their
// bounds, set once by the process that owns them (the broker from its settings), and their counts for
// its metrics. Each is least recently used first, so a full cache drops one entry at a time.
import { DEFAULT_CERT_FACTS_MAX, certFactsCache } from './cert-facts.js';
import { DEFAULT_PARSED_CERTS_MAX, parsedCerts } from './certificate.js';
import { DEFAULT_SIGNATURES_MAX, signatureResults } from './validate.js';

export const PkiCacheDefaults = {
  parsedCertificates: DEFAULT_PARSED_CERTS_MAX,
  certFacts: DEFAULT_CERT_FACTS_MAX,
  signatures: DEFAULT_SIGNATURES_MAX,
} as const;
export type PkiCacheName = keyof typeof PkiCacheDefaults;

const caches = { parsedCertificates: parsedCerts, certFacts: certFactsCache, signatures: signatureResults };

/** Set the bounds (entries); an omitted one keeps its current bound. Shrinking evicts at once. */
export function configurePkiCaches(bounds: Partial<Record<PkiCacheName, number>>): void {
  for (const [name, max] of Object.entries(bounds) as [PkiCacheName, number | undefined][]) if (max !== undefined) caches[name].resize(max);
}

export interface CacheStats {
  name: PkiCacheName;
  size: number;
  max: number;
  evictions: number;
}
export function pkiCacheStats(): CacheStats[] {
  return (Object.keys(caches) as PkiCacheName[]).map((name) => ({ name, size: caches[name].size, max: caches[name].max, evictions: caches[name].evictions }));
}
