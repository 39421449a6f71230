// @twoway/http: the HTTP server every service uses (error map, health, readiness) and bearer auth.
export { createHttpServer } from './server.js';
export type { HttpOptions, Readiness } from './server.js';
export { ApiError, errorHandler, isErrorCode } from './errors.js';
export { NatsResolver, authorize, bearerToken, roleAllows, TOKEN_FRESH_MS, RESOLVER_MAX_ENTRIES } from './auth.js';
export type { Action, Resolver, NatsResolverOptions } from './auth.js';
export { VerifiedCache } from './verified-cache.js';
export type { VerifiedCacheOptions } from './verified-cache.js';
