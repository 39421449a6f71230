// The wire form of one MQTT PUBLISH forwarded between broker replicas over core NATS
// (`MqttForwardSubject`). Pure: encode an aedes packet, decode and check what another replica sent.

/** Which local packets leave this replica. */
export const SYS_PREFIX = '$SYS/';
/**
 * aedes announces every newly registered client on `$SYS/<brokerId>/new/clients`; the other aedes
 * instances close their session with the same client id. Forwarding this one `$SYS` topic gives
 * [MQTT-3.1.4-2] (the server disconnects an existing client with the same ClientId) across replicas.
 */
export const TAKEOVER_PATTERN = '$SYS/+/new/clients';
const TAKEOVER_TOPIC = /^\$SYS\/[^/]+\/new\/clients$/;

export const ENVELOPE_VERSION = 1;

/** JSON on the wire. Buffers inside `properties` travel as `{ "$b64": "..." }`. */
export interface MqttForwardEnvelope {
  v: typeof ENVELOPE_VERSION;
  /** Replica that accepted the PUBLISH; it ignores its own echo. */
  origin: string;
  topic: string;
  /** The application message, base64. */
  payload: string;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** aedes de-duplicates deliveries per (brokerId, brokerCounter): both must survive the hop. */
  brokerId?: string;
  brokerCounter?: number;
  /** Publisher's client id: aedes needs it for MQTT 5 No Local ([MQTT-3.8.3-3]). Absent for broker-originated packets. */
  clientId?: string;
  /** MQTT 5 publish properties (user properties, correlation data, ...). */
  properties?: unknown;
  /** Absolute expiry (ms epoch) of an MQTT 5 Message Expiry Interval. */
  messageExpiry?: number;
}

/** The fields of an aedes packet this module reads or rebuilds. */
export interface ForwardablePacket {
  topic: string;
  payload?: Buffer | Uint8Array | string;
  qos?: number;
  retain?: boolean;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  properties?: unknown;
  messageExpiry?: number;
  [k: string]: unknown;
}

export type ForwardDecision = 'forward' | 'local-only';

/**
 * `$SYS` topics describe one broker instance (heartbeats, subscribes, disconnects) and stay local,
 * except the broker-originated client takeover notice. A client-published `$SYS/.../new/clients`
 * (it carries the publisher's clientId) is never forwarded, so a device cannot kick others cluster-wide.
 */
export function forwardDecision(packet: ForwardablePacket): ForwardDecision {
  if (!packet.topic.startsWith(SYS_PREFIX)) return 'forward';
  if (TAKEOVER_TOPIC.test(packet.topic) && packet.clientId === undefined) return 'forward';
  return 'local-only';
}

export const isTakeoverTopic = (topic: string): boolean => TAKEOVER_TOPIC.test(topic);

function payloadBuffer(p: ForwardablePacket['payload']): Buffer {
  if (p === undefined) return Buffer.alloc(0);
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify has already called Buffer#toJSON on `value`; the holder still has the Buffer.
  const original = this[key];
  if (Buffer.isBuffer(original)) return { $b64: original.toString('base64') };
  if (original instanceof Uint8Array) return { $b64: Buffer.from(original).toString('base64') };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const b64 = (value as { $b64?: unknown }).$b64;
    if (keys.length === 1 && typeof b64 === 'string') return Buffer.from(b64, 'base64');
  }
  return value;
}

export function encodeEnvelope(packet: ForwardablePacket, origin: string): Uint8Array {
  const env: MqttForwardEnvelope = {
    v: ENVELOPE_VERSION,
    origin,
    topic: packet.topic,
    payload: payloadBuffer(packet.payload).toString('base64'),
    qos: packet.qos === 1 || packet.qos === 2 ? packet.qos : 0,
    retain: packet.retain === true,
  };
  if (typeof packet.brokerId === 'string') env.brokerId = packet.brokerId;
  if (typeof packet.brokerCounter === 'number') env.brokerCounter = packet.brokerCounter;
  if (typeof packet.clientId === 'string') env.clientId = packet.clientId;
  if (packet.properties !== undefined) env.properties = packet.properties;
  if (typeof packet.messageExpiry === 'number') env.messageExpiry = packet.messageExpiry;
  return Buffer.from(JSON.stringify(env, replacer), 'utf8');
}

export class EnvelopeInvalidError extends Error {
  override name = 'EnvelopeInvalidError';
  constructor(readonly problem: string, options?: { cause?: unknown }) {
    super(`forwarded MQTT message invalid: ${problem}`, options);
  }
}

/** Parse and check an envelope from another replica. Throws EnvelopeInvalidError. */
export function decodeEnvelope(data: Uint8Array): MqttForwardEnvelope {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'), reviver);
  } catch (e) {
    throw new EnvelopeInvalidError('not JSON', { cause: e });
  }
  if (!raw || typeof raw !== 'object') throw new EnvelopeInvalidError('not an object');
  const e = raw as Record<string, unknown>;
  if (e.v !== ENVELOPE_VERSION) throw new EnvelopeInvalidError(`unknown version ${String(e.v)}`);
  if (typeof e.origin !== 'string' || e.origin === '') throw new EnvelopeInvalidError('origin missing');
  if (typeof e.topic !== 'string' || e.topic === '') throw new EnvelopeInvalidError('topic missing');
  // [MQTT-3.3.2-2] a PUBLISH topic carries no wildcard.
  if (e.topic.includes('+') || e.topic.includes('#')) throw new EnvelopeInvalidError('wildcard in topic');
  if (typeof e.payload !== 'string') throw new EnvelopeInvalidError('payload missing');
  if (e.qos !== 0 && e.qos !== 1 && e.qos !== 2) throw new EnvelopeInvalidError('qos not 0, 1 or 2');
  if (typeof e.retain !== 'boolean') throw new EnvelopeInvalidError('retain not boolean');
  if (e.brokerId !== undefined && typeof e.brokerId !== 'string') throw new EnvelopeInvalidError('brokerId not a string');
  if (e.brokerCounter !== undefined && typeof e.brokerCounter !== 'number') throw new EnvelopeInvalidError('brokerCounter not a number');
  if (e.clientId !== undefined && typeof e.clientId !== 'string') throw new EnvelopeInvalidError('clientId not a string');
  if (e.messageExpiry !== undefined && typeof e.messageExpiry !== 'number') throw new EnvelopeInvalidError('messageExpiry not a number');
  return e as unknown as MqttForwardEnvelope;
}

/** The aedes packet a replica re-emits locally for a remote PUBLISH. */
export function packetFromEnvelope(env: MqttForwardEnvelope): ForwardablePacket & { cmd: 'publish'; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; dup: false } {
  const p: ForwardablePacket & { cmd: 'publish'; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; dup: false } = {
    cmd: 'publish',
    topic: env.topic,
    payload: Buffer.from(env.payload, 'base64'),
    qos: env.qos,
    retain: env.retain,
    dup: false,
  };
  if (env.brokerId !== undefined) p.brokerId = env.brokerId;
  if (env.brokerCounter !== undefined) p.brokerCounter = env.brokerCounter;
  if (env.clientId !== undefined) p.clientId = env.clientId;
  if (env.properties !== undefined) p.properties = env.properties;
  if (env.messageExpiry !== undefined) p.messageExpiry = env.messageExpiry;
  return p;
}
