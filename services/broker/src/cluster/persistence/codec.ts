// How aedes packets and session records are stored in JetStream. Pure.
//
// Queued and inbound packets keep their payload as the raw message body (bytes stay bytes) and every
// other field as ASCII JSON in one header; records (subscriptions, wills) are JSON with Buffers as
// `{ "$b64": ... }`. The stored form keeps exactly the fields aedes gave, so a packet read back from
// any replica equals the one written.
import { headers as natsHeaders, type MsgHdrs } from 'nats';

/** NATS subjects and KV keys allow few characters; client ids and topics are any UTF-8: base64url. */
export const keyOf = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
export const ofKey = (key: string): string => Buffer.from(key, 'base64url').toString('utf8');

export const PACKET_HEADER = 'Mqtt-Packet';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // JSON.stringify has already called Buffer#toJSON on `value`; the holder still has the Buffer.
  const original = this[key];
  if (original instanceof Uint8Array) return { $b64: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const b64 = (value as { $b64?: unknown }).$b64;
    if (typeof b64 === 'string' && Object.keys(value).length === 1) return Buffer.from(b64, 'base64');
  }
  return value;
}

export const toJson = (v: unknown): string => JSON.stringify(v, replacer);
export const fromJson = <T>(s: string): T => JSON.parse(s, reviver) as T;
export const encodeRecord = (v: unknown): Uint8Array => Buffer.from(toJson(v), 'utf8');
export const decodeRecord = <T>(data: Uint8Array): T => fromJson<T>(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));

/** Header values must stay one line of text: escape everything outside printable ASCII. */
const asciiJson = (v: unknown): string => toJson(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

type PayloadKind = 'b' | 's' | 'n';
export type StoredPacket = Record<string, unknown> & { payload?: unknown };

/** A packet as NATS headers + body. A string payload stays a string when read back (aedes allows both). */
export function packetToMessage(packet: StoredPacket): { headers: MsgHdrs; data: Uint8Array } {
  const { payload, ...rest } = packet;
  let data: Uint8Array;
  let kind: PayloadKind;
  if (typeof payload === 'string') {
    data = Buffer.from(payload, 'utf8');
    kind = 's';
  } else if (payload instanceof Uint8Array) {
    data = payload;
    kind = 'b';
  } else {
    data = new Uint8Array(0);
    kind = 'n';
  }
  const h = natsHeaders();
  h.set(PACKET_HEADER, asciiJson({ ...rest, $p: kind }));
  return { headers: h, data };
}

export function packetFromMessage(h: MsgHdrs | undefined, data: Uint8Array): StoredPacket {
  const raw = h?.get(PACKET_HEADER);
  if (!raw) throw new Error(`stored packet without ${PACKET_HEADER} header`);
  const { $p: kind, ...rest } = fromJson<StoredPacket & { $p: PayloadKind }>(raw);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (kind === 's') rest.payload = body.toString('utf8');
  else if (kind === 'b') rest.payload = Buffer.from(body);
  return rest;
}
