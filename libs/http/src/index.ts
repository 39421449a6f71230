// @twoway/http: the HTTP server every service uses (error map, health, readiness) and bearer auth.
export { createHttpServer } from './server.js';
export type { HttpOptions, Readiness } from './server.js';
export { ApiError, errorHandler, isErrorCode } from './errors.js';
export { NatsResolver, authorize, bearerToken, roleAllows } from './auth.js';
export type { Action, Resolver } from './auth.js';
