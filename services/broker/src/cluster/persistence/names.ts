// Names of the JetStream objects that hold aedes session state, and the bounds that apply to them.
import { MqttRetainedBucket } from '@twoway/contracts';

export interface SessionStoreNames {
  /** KV: retained message per topic. */
  retainedBucket: string;
  /** KV: subscriptions of a persistent session, one key per client. */
  subscriptionsBucket: string;
  /** KV: will message per client, with the replica incarnation that owns it. */
  willsBucket: string;
  /** KV: one heartbeat key per running replica incarnation. */
  replicasBucket: string;
  /** Stream of outgoing QoS 1/2 queues: `<outSubject>.<client>.m` (packets), `<outSubject>.<client>.s<seq>` (their delivery state). */
  outStream: string;
  outSubject: string;
  /** Stream of inbound QoS 2 packets awaiting PUBREL: `<inSubject>.<client>.<messageId>`. */
  inStream: string;
  inSubject: string;
}

/** Production names. The lead may move these constants to libs/contracts. */
export const MqttSessionNames: SessionStoreNames = Object.freeze({
  retainedBucket: MqttRetainedBucket,
  subscriptionsBucket: 'TWOWAY_MQTT_SUBSCRIPTIONS',
  willsBucket: 'TWOWAY_MQTT_WILLS',
  replicasBucket: 'TWOWAY_MQTT_REPLICAS',
  outStream: 'TWOWAY_MQTT_OUTGOING',
  outSubject: 'twoway.v1.mqtt.outgoing',
  inStream: 'TWOWAY_MQTT_INCOMING',
  inSubject: 'twoway.v1.mqtt.incoming',
});

/** Names under a prefix (`[A-Za-z0-9_-]+`), so tests and side-by-side clusters do not see each other. */
export function sessionStoreNames(prefix?: string): SessionStoreNames {
  if (prefix === undefined) return MqttSessionNames;
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`session store prefix must match [A-Za-z0-9_-]+: ${prefix}`);
  return Object.freeze({
    retainedBucket: `${prefix}_RETAINED`,
    subscriptionsBucket: `${prefix}_SUBSCRIPTIONS`,
    willsBucket: `${prefix}_WILLS`,
    replicasBucket: `${prefix}_REPLICAS`,
    outStream: `${prefix}_OUTGOING`,
    outSubject: `${prefix}.outgoing`,
    inStream: `${prefix}_INCOMING`,
    inSubject: `${prefix}.incoming`,
  });
}

/** Per-session bounds of the outgoing queue (Mosquitto's max_queued_messages / max_queued_bytes). */
export interface QueueLimits {
  /** Packets queued per session; server-enforced per subject, the newest is refused. */
  queueMaxMessages: number;
  /** Largest queued packet (payload + stored header); server-enforced per message. See README in the module. */
  queueMaxBytes: number;
  /** A queued packet older than this is dropped (reported as EXPIRED). */
  queueExpiryMs: number;
}

export const DEFAULT_QUEUE_MAX_MESSAGES = 1000;
export const DEFAULT_QUEUE_MAX_BYTES = 1024 * 1024;
export const DEFAULT_QUEUE_EXPIRY_MS = 24 * 60 * 60 * 1000;
/** Server-side max_age beyond the expiry: only removes what no replica swept (all replicas down that long). */
export const QUEUE_MAX_AGE_MARGIN_MS = 60 * 60 * 1000;

/** Replica liveness: a heartbeat this often, declared dead after this long without one. */
export const DEFAULT_LIVENESS_INTERVAL_MS = 1000;
export const DEFAULT_DEAD_AFTER_MS = 5000;
/**
 * The aedes `heartbeatInterval` to configure: aedes looks for wills to publish every 4 × heartbeatInterval,
 * so a dead replica's wills go out within DEFAULT_DEAD_AFTER_MS + 4 × 2000 ms = 13 s (+ one claim round trip).
 */
export const AEDES_HEARTBEAT_INTERVAL_MS = 2000;
export const WILL_PUBLISH_BOUND_MS = DEFAULT_DEAD_AFTER_MS + 4 * AEDES_HEARTBEAT_INTERVAL_MS + 2000;
