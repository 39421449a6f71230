// @twoway/nats: the one NATS client wrapper (typed request/reply, JetStream streams and events).
export { Bus, RemoteError, UnavailableError, CodedError, DEFAULT_SERVE_LIMITS } from './client.js';
export type { BusOptions, Handler, ServeOptions } from './client.js';
export { RequestLimiter } from './request-limiter.js';
export { busMetrics } from './metrics.js';
export type { RequestLimits, Admission } from './request-limiter.js';
export { encode, decode, MessageInvalidError } from './codec.js';
export { ensureStreamReplicas, kvStreamName, planReplicas, replicasFor } from './replicas.js';
export type { ReplicaAction, ReplicaPlan, ReplicaLog } from './replicas.js';
export { isFormingError, whileJetStreamForms } from './forming.js';
export type { FormingOptions } from './forming.js';
