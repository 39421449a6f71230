// Cross-replica MQTT fan-out: hand `createNatsMqEmitter(...)` to aedes as its `mq` option.
//
// Per replica in this release (aedes in-memory persistence): retained messages, QoS 1/2 queues of
// offline persistent sessions, in-flight QoS 2 state and wills. A live PUBLISH reaches every replica's
// subscribers; a retained message is stored only by the replica that accepted it.
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
export type { ClusterLog, NatsMqEmitterOptions, Listener, Message } from './nats-mq-emitter.js';
export { MqttForwardTooLargeError, MqEmitterClosedError } from './errors.js';
export { encodeEnvelope, decodeEnvelope, forwardDecision, EnvelopeInvalidError, TAKEOVER_PATTERN } from './envelope.js';
export type { MqttForwardEnvelope } from './envelope.js';
