// The wire form of one MQTT PUBLISH forwarded between broker replicas over core NATS, and the subjects
// it travels on. The application payload is the NATS message body, unchanged; the rest of the packet
// rides in NATS headers, so a receiving replica copies no payload and parses no JSON. Also the stored
// form of a retained message (JSON, below), which the replicas' KV bucket keeps.

import { headers as natsHeaders, type MsgHdrs } from 'nats';

/** Which local packets leave this replica. */
export const SYS_PREFIX = '$SYS/';
/**
 * aedes announces every newly registered client on `$SYS/<brokerId>/new/clients`; the other aedes
 * instances close their session with the same client id. Forwarding this one `$SYS` topic gives
 * [MQTT-3.1.4-2] (the server disconnects an existing client with the same ClientId) across replicas.
 */
export const TAKEOVER_PATTERN = '$SYS/+/new/clients';
const TAKEOVER_TOPIC = /^\$SYS\/[^/]+\/new\/clients$/;

export const ENVELOPE_VERSION = '2';

/**
 * Header names. A receiver parses every header line of every forwarded message (nats.js decodes the
 * whole block), so the fixed fields share one line: two lines for a typical PUBLISH.
 */
export const ForwardHeaders = {
  /**
   * `<version> <qos><retain> <brokerCounter> <messageExpiry> <origin> <brokerId> <clientId>`, e.g.
   * `2 10 812 % =pod-a =pod-a =device-7`. Numbers in decimal, `%` when absent; strings `=` and
   * URI-encoded, `%` when absent. qos 0–2; retain 0/1. origin: the replica that accepted the
   * PUBLISH. brokerId and brokerCounter: aedes de-duplicates deliveries by them, both must survive the
   * hop. clientId: the publisher (aedes needs it for MQTT 5 No Local [MQTT-3.8.3-3]); absent for
   * broker-originated packets. messageExpiry: absolute (ms epoch) of an MQTT 5 Message Expiry Interval.
   */
  meta: 'tw',
  topic: 'tw-t',
  /** MQTT 5 publish properties, JSON; Buffers inside travel as `{ "$b64": "..." }`. */
  properties: 'tw-p',
} as const;
/**
 * NATS header values cannot hold CR or LF and lose surrounding white space; MQTT topics may contain
 * both ([MQTT-1.5.3]: any UTF-8 but U+0000). Such a topic travels base64 under `tw-t-b64`.
 */
const B64 = '-b64';
const headerUnsafe = (v: string): boolean => v.includes('\r') || v.includes('\n') || v.trim() !== v;
const ABSENT = '%';
// `=` before each string so an empty one is not an empty field (a trailing one would be trimmed).
const str = (v: string | undefined): string => (v === undefined ? ABSENT : '=' + encodeURIComponent(v));
function unstr(v: string): string | undefined {
  if (v === ABSENT) return undefined;
  if (v.charCodeAt(0) !== 61) throw new EnvelopeInvalidError('metadata malformed');
  return decodeURIComponent(v.slice(1));
}

/** Subjects of the fan-out, under one base subject (`MqttForwardSubject` in production). */
export interface ForwardSubjects {
  /** Forwarded PUBLISHes for one replica: only replicas with a matching subscription are sent one. */
  to(replicaId: string): string;
  /** Takeover notices, to every replica including the sender (its echo orders concurrent takeovers). */
  takeover: string;
  /** Interest announcements, to every replica. */
  interest: string;
  /** Snapshots, snapshot requests and acknowledgements for one replica. */
  direct(replicaId: string): string;
}

/** A replica id as one subject token: ids are host names (dots) or anything configured. */
export const replicaToken = (replicaId: string): string => Buffer.from(replicaId, 'utf8').toString('base64url');

export function forwardSubjects(base: string): ForwardSubjects {
  return {
    to: (r) => `${base}.to.${replicaToken(r)}`,
    takeover: `${base}.takeover`,
    interest: `${base}.interest`,
    direct: (r) => `${base}.direct.${replicaToken(r)}`,
  };
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

export function payloadBytes(p: ForwardablePacket['payload']): Uint8Array {
  if (p === undefined) return EMPTY;
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  return p;
}
const EMPTY = new Uint8Array(0);

/** Room for the header block around the variable values (names, `NATS/1.0`, separators, numbers). */
const HEADER_OVERHEAD_BYTES = 256;

/**
 * An upper bound of the forwarded size (body and headers) that costs no encoding: every UTF-16 unit
 * is at most 3 UTF-8 bytes, and base64 grows by 4/3. Exact when it matters: see `exceedsMaxPayload`.
 */
function sizeBound(packet: ForwardablePacket, payloadLength: number, origin: string): number {
  const strings = packet.topic.length + origin.length + (packet.clientId?.length ?? 0) + (packet.brokerId?.length ?? 0);
  return payloadLength + 4 * strings + HEADER_OVERHEAD_BYTES + (packet.properties === undefined ? 0 : 1 << 30);
}

/**
 * The forwarded size when it exceeds `maxBytes`, else undefined. The same answer whatever the
 * interest of the other replicas, so whether a PUBLISH is accepted never depends on who subscribes.
 */
export function exceedsMaxPayload(packet: ForwardablePacket, origin: string, maxBytes: number): number | undefined {
  const payload = payloadBytes(packet.payload);
  if (sizeBound(packet, payload.byteLength, origin) <= maxBytes) return undefined;
  const size = payload.byteLength + headerBytes(encodeHeaders(packet, origin));
  return size > maxBytes ? size : undefined;
}

/** nats.js encodes headers itself when publishing; its MsgHdrs type does not show `encode`. */
const headerBytes = (h: MsgHdrs): number => (h as unknown as { encode(): Uint8Array }).encode().byteLength;

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

export function encodeHeaders(packet: ForwardablePacket, origin: string): MsgHdrs {
  const h = natsHeaders();
  const q = packet.qos === 1 || packet.qos === 2 ? packet.qos : 0;
  const counter = typeof packet.brokerCounter === 'number' ? String(packet.brokerCounter) : ABSENT;
  const expiry = typeof packet.messageExpiry === 'number' ? String(packet.messageExpiry) : ABSENT;
  const brokerId = typeof packet.brokerId === 'string' ? packet.brokerId : undefined;
  const clientId = typeof packet.clientId === 'string' ? packet.clientId : undefined;
  h.set(ForwardHeaders.meta, `${ENVELOPE_VERSION} ${q}${packet.retain === true ? 1 : 0} ${counter} ${expiry} ${str(origin)} ${str(brokerId)} ${str(clientId)}`);
  if (headerUnsafe(packet.topic)) h.set(ForwardHeaders.topic + B64, Buffer.from(packet.topic, 'utf8').toString('base64'));
  else h.set(ForwardHeaders.topic, packet.topic);
  if (packet.properties !== undefined) h.set(ForwardHeaders.properties, JSON.stringify(packet.properties, replacer));
  return h;
}

/** The NATS message for a forwarded PUBLISH: the payload as the body, the rest in headers. */
export function encodeForward(packet: ForwardablePacket, origin: string): { data: Uint8Array; headers: MsgHdrs } {
  return { data: payloadBytes(packet.payload), headers: encodeHeaders(packet, origin) };
}

export class EnvelopeInvalidError extends Error {
  override name = 'EnvelopeInvalidError';
  constructor(readonly problem: string, options?: { cause?: unknown }) {
    super(`forwarded MQTT message invalid: ${problem}`, options);
  }
}

/** The aedes packet a replica re-emits locally for a remote PUBLISH. */
export type ForwardedPacket = ForwardablePacket & { cmd: 'publish'; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; dup: false };

function numberOf(v: string, problem: string): number | undefined {
  if (v === ABSENT) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new EnvelopeInvalidError(problem);
  return n;
}

/** Check and rebuild a PUBLISH another replica forwarded. Throws EnvelopeInvalidError. */
export function decodeForward(msg: { data: Uint8Array; headers?: MsgHdrs | undefined }): { origin: string; packet: ForwardedPacket } {
  const h = msg.headers;
  if (!h) throw new EnvelopeInvalidError('headers missing');
  const meta = h.get(ForwardHeaders.meta).split(' ');
  if (meta[0] !== ENVELOPE_VERSION) throw new EnvelopeInvalidError(`unknown version ${meta[0] || '(none)'}`);
  if (meta.length !== 7) throw new EnvelopeInvalidError('metadata malformed');
  const [, flags, counter, expiry, o, b, c] = meta as [string, string, string, string, string, string, string];
  let origin, brokerId, clientId;
  try {
    origin = unstr(o);
    brokerId = unstr(b);
    clientId = unstr(c);
  } catch (e) {
    if (e instanceof EnvelopeInvalidError) throw e;
    throw new EnvelopeInvalidError('metadata malformed', { cause: e });
  }
  if (!origin) throw new EnvelopeInvalidError('origin missing');
  let topic = h.get(ForwardHeaders.topic);
  if (!topic && h.has(ForwardHeaders.topic + B64)) topic = Buffer.from(h.get(ForwardHeaders.topic + B64), 'base64').toString('utf8');
  if (!topic) throw new EnvelopeInvalidError('topic missing');
  // [MQTT-3.3.2-2] a PUBLISH topic carries no wildcard.
  if (topic.includes('+') || topic.includes('#')) throw new EnvelopeInvalidError('wildcard in topic');
  const q = flags.charCodeAt(0) - 48;
  if (flags.length !== 2 || (q !== 0 && q !== 1 && q !== 2)) throw new EnvelopeInvalidError('qos not 0, 1 or 2');
  const r = flags.charCodeAt(1) - 48;
  if (r !== 0 && r !== 1) throw new EnvelopeInvalidError('retain not 0 or 1');
  const d = msg.data;
  const packet: ForwardedPacket = {
    cmd: 'publish',
    topic,
    // A view of the NATS message's bytes, no copy: nats.js hands each message its own buffer.
    payload: Buffer.from(d.buffer, d.byteOffset, d.byteLength),
    qos: q,
    retain: r === 1,
    dup: false,
  };
  if (brokerId !== undefined) packet.brokerId = brokerId;
  const brokerCounter = numberOf(counter, 'brokerCounter not a number');
  if (brokerCounter !== undefined) packet.brokerCounter = brokerCounter;
  if (clientId !== undefined) packet.clientId = clientId;
  const props = h.get(ForwardHeaders.properties);
  if (props) {
    try {
      packet.properties = JSON.parse(props, reviver);
    } catch (e) {
      throw new EnvelopeInvalidError('properties not JSON', { cause: e });
    }
  }
  const messageExpiry = numberOf(expiry, 'messageExpiry not a number');
  if (messageExpiry !== undefined) packet.messageExpiry = messageExpiry;
  return { origin, packet };
}

// ---- The stored form: a retained message in the KV bucket (JSON; the forwarded form before headers) ----

export const STORED_ENVELOPE_VERSION = 1;

/** JSON. Buffers inside `properties` travel as `{ "$b64": "..." }`. */
export interface MqttForwardEnvelope {
  v: typeof STORED_ENVELOPE_VERSION;
  /** Replica that accepted the PUBLISH. */
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

function payloadBuffer(p: ForwardablePacket['payload']): Buffer {
  if (p === undefined) return Buffer.alloc(0);
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  return Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

export function encodeEnvelope(packet: ForwardablePacket, origin: string): Uint8Array {
  const env: MqttForwardEnvelope = {
    v: STORED_ENVELOPE_VERSION,
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

/** Parse and check a stored envelope. Throws EnvelopeInvalidError. */
export function decodeEnvelope(data: Uint8Array): MqttForwardEnvelope {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'), reviver);
  } catch (e) {
    throw new EnvelopeInvalidError('not JSON', { cause: e });
  }
  if (!raw || typeof raw !== 'object') throw new EnvelopeInvalidError('not an object');
  const e = raw as Record<string, unknown>;
  if (e.v !== STORED_ENVELOPE_VERSION) throw new EnvelopeInvalidError(`unknown version ${String(e.v)}`);
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

/** The aedes packet of a stored envelope. */
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
