// @twoway/runtime: the process lifecycle every service shares.
export { runService } from './run-service.js';
export type { ServiceDeps, Stoppable } from './run-service.js';
