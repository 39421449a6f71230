// Cross-replica MQTT fan-out: hand `createNatsMqEmitter(...)` to aedes as its `mq` option.
//
// Shared by all replicas: live PUBLISHes (NatsMqEmitter, core NATS) and retained messages
// (`createClusterRetained(...).persistence` as aedes's `persistence`, a JetStream KV bucket).
// Per replica in this release (aedes in-memory persistence): QoS 1/2 queues of offline persistent
// sessions, in-flight QoS 2 state and wills.
//
// Wiring (services/broker):
//   const mq = createNatsMqEmitter({ nc: bus.nc, replicaId: cfg.brokerId, log });
//   const retained = await createClusterRetained({ nc: bus.nc, replicaId: cfg.brokerId, log, replicas: 3 });
//   const aedes = await Aedes.createBroker({ id: cfg.brokerId, mq, persistence: retained.persistence, ... });
//   stop: aedes.close() (closes mq) → retained.stop() → drain NATS.
// Keep aedes's refusal of client PUBLISHes to `$SYS/` topics in a custom authorizePublish.
import type { NatsConnection } from 'nats';
import { NatsMqEmitter, type ClusterLog, type NatsMqEmitterOptions } from './nats-mq-emitter.js';

export function createNatsMqEmitter(opts: {
  nc: NatsConnection;
  replicaId: string;
  log: ClusterLog;
  subject?: string;
  concurrency?: number;
  onSubscriptionClosed?: NatsMqEmitterOptions['onSubscriptionClosed'];
}): NatsMqEmitter {
  return NatsMqEmitter.create(opts);
}

export { NatsMqEmitter } from './nats-mq-emitter.js';
export { createClusterRetained, RetainedStoreError, keyOfTopic, topicOfKey } from './retained-store.js';
export type { ClusterRetained, ClusterRetainedOptions } from './retained-store.js';
export type { ClusterLog, NatsMqEmitterOptions, Listener, Message } from './nats-mq-emitter.js';
export { MqttForwardTooLargeError, MqEmitterClosedError } from './errors.js';
export { encodeEnvelope, decodeEnvelope, forwardDecision, EnvelopeInvalidError, TAKEOVER_PATTERN } from './envelope.js';
export type { MqttForwardEnvelope } from './envelope.js';
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
