// @twoway/http: the HTTP server every service uses (error map, health, readiness, metrics) and bearer auth.
export { createHttpServer } from './server.js';
export { countApiRequests, metricsRoute, startMetricsListener, HTTP_DURATION_BUCKETS_MS } from './metrics.js';
export type { HttpOptions, Readiness } from './server.js';
export { ApiError, errorHandler, isErrorCode } from './errors.js';
export { NatsResolver, authorize, bearerToken, roleAllows, TOKEN_FRESH_MS, RESOLVER_MAX_ENTRIES } from './auth.js';
export type { Action, Resolver, NatsResolverOptions } from './auth.js';
export { VerifiedCache } from './verified-cache.js';
export type { VerifiedCacheOptions } from './verified-cache.js';
