// @twoway/runtime: the process lifecycle every service shares.
export { runService } from './run-service.js';
export type { ServiceDeps, Stoppable } from './run-service.js';
export { runHost, runHostFromEnv, currentHost, HOSTED_SERVICES_ENV } from './host.js';
export type { HostedService, ServiceHost } from './host.js';
