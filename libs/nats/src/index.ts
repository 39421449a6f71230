// @twoway/nats: the one NATS client wrapper (typed request/reply, JetStream streams and events).
export { Bus, RemoteError, UnavailableError, CodedError } from './client.js';
export type { BusOptions, Handler } from './client.js';
export { encode, decode, MessageInvalidError } from './codec.js';
export { ensureStreamReplicas, kvStreamName, planReplicas, replicasFor } from './replicas.js';
export type { ReplicaAction, ReplicaPlan, ReplicaLog } from './replicas.js';
