// Cross-replica MQTT fan-out and session state: hand `createNatsMqEmitter(...)` to aedes as its `mq` and
// `createNatsPersistence(...).persistence` as its `persistence`.
//
// Shared by all replicas: live PUBLISHes (NatsMqEmitter, core NATS, sent only to the replicas whose
// clients subscribe to them), and in JetStream (persistence/):
// retained messages, subscriptions of persistent sessions, their QoS 1/2 queues, inbound QoS 2 state,
// wills and replica liveness. A session survives a reconnect to another replica, a rolling restart and
// a replica's crash. `createClusterRetained` (retained messages only) remains for the previous wiring;
// both use the same retained-message bucket and value format.
//
// Wiring (services/broker):
//   const mq = createNatsMqEmitter({ nc: bus.nc, replicaId: cfg.brokerId, log });
//   const store = await createNatsPersistence({ nc: bus.nc, replicaId: cfg.brokerId, log, replicas: 3,
//     limits: { queueMaxMessages, queueMaxBytes, queueExpiryMs }, onDropped });
//   const aedes = await Aedes.createBroker({ id: cfg.brokerId, mq, persistence: store.persistence,
//     heartbeatInterval: AEDES_HEARTBEAT_INTERVAL_MS, ... });
//   stop: aedes.close() (closes mq) → store.stop() → drain NATS.
// Keep aedes's refusal of client PUBLISHes to `$SYS/` topics in a custom authorizePublish, and let it
// accept a will published for a client that is no longer connected (client === null): aedes publishes
// the wills of a dead replica that way.
import type { NatsConnection } from 'nats';
import { NatsMqEmitter, type ClusterLog, type NatsMqEmitterOptions } from './nats-mq-emitter.js';

export function createNatsMqEmitter(opts: {
  nc: NatsConnection;
  replicaId: string;
  log: ClusterLog;
  subject?: string;
  concurrency?: number;
  onSubscriptionClosed?: NatsMqEmitterOptions['onSubscriptionClosed'];
  heartbeatMs?: number;
}): NatsMqEmitter {
  return NatsMqEmitter.create(opts);
}

export { NatsMqEmitter } from './nats-mq-emitter.js';
export { createClusterRetained, RetainedStoreError, keyOfTopic, topicOfKey } from './retained-store.js';
export type { ClusterRetained, ClusterRetainedOptions } from './retained-store.js';
export type { ClusterLog, NatsMqEmitterOptions, Listener, Message } from './nats-mq-emitter.js';
export { MqttForwardTooLargeError, MqEmitterClosedError } from './errors.js';
export { encodeEnvelope, decodeEnvelope, encodeForward, decodeForward, forwardDecision, forwardSubjects, EnvelopeInvalidError, TAKEOVER_PATTERN } from './envelope.js';
export type { MqttForwardEnvelope, ForwardSubjects } from './envelope.js';
export { INTEREST_HEARTBEAT_MS, INTEREST_ACK_TIMEOUT_MS, TAKEOVER_SINCE_HEADER } from './nats-mq-emitter.js';
export { createNatsPersistence, AedesNatsPersistence, PacketNotFoundError } from './persistence/nats-persistence.js';
export type { NatsPersistence, NatsPersistenceOptions, NatsPersistenceStats } from './persistence/nats-persistence.js';
export type { DroppedMessages, DropReason } from './persistence/outgoing-queues.js';
export {
  MqttSessionNames,
  sessionStoreNames,
  AEDES_HEARTBEAT_INTERVAL_MS,
  WILL_PUBLISH_BOUND_MS,
  DEFAULT_QUEUE_MAX_MESSAGES,
  DEFAULT_QUEUE_MAX_BYTES,
  DEFAULT_QUEUE_EXPIRY_MS,
  DEFAULT_LIVENESS_INTERVAL_MS,
  DEFAULT_DEAD_AFTER_MS,
} from './persistence/names.js';
export type { QueueLimits, SessionStoreNames } from './persistence/names.js';
