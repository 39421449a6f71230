// MQTT over secure WebSocket: which HTTP upgrades become an MQTT connection, and the stream aedes
// reads. The WebSocket is only a framing around the same MQTT bytes: the socket below it is the TLS
// socket whose chain was captured at the handshake (tls/listener.ts), and the stream gets the same byte
// guard as a socket on the MQTT/TLS port.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type ServerOptions, type WebSocket } from 'ws';
import { MqttWssPath } from '@twoway/contracts';

/** The one path MQTT is served on; anything else is 404. */
export const WSS_PATH = MqttWssPath;

/**
 * Subprotocols we speak: "mqtt" [MQTT-6.0.0-3], and "mqttv3.1", which MQTT 3.1 clients offer
 * (the `mqtt` package with protocolId MQIsdp). A client offering neither is refused: it has not
 * said it speaks MQTT [MQTT-6.0.0-4].
 */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'] as const;

/**
 * How long a peer that broke the WebSocket rules (oversized message, text frame, bad frame) has to
 * answer our close frame before its socket is destroyed (ws waits 30 s by default).
 */
export const WS_CLOSE_TIMEOUT_MS = 1_000;

/** Request headers of an upgrade, at most (Node's default; the bound on bytes before the WebSocket). */
export const WSS_MAX_HEADER_BYTES = 16 * 1024;

export type WssRefusal = 'not_upgrade' | 'path' | 'subprotocol' | 'handshake' | 'text_frame' | 'frame_error';

/** Why an upgrade request is not one we take, or undefined when it is. */
export function upgradeRefusal(req: IncomingMessage): { reason: WssRefusal; status: number; message: string } | undefined {
  // The request target is origin-form ("/mqtt?x") from a client, never trusted to be a valid URL.
  const path = (req.url ?? '').split('?')[0];
  if (path !== WSS_PATH) return { reason: 'path', status: 404, message: `MQTT is served on ${WSS_PATH}` };
  if (!offeredSubprotocol(req)) return { reason: 'subprotocol', status: 400, message: 'Sec-WebSocket-Protocol must offer mqtt' };
  return undefined;
}

function offeredSubprotocol(req: IncomingMessage): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return SUBPROTOCOLS.find((p) => offered.includes(p));
}

/** Answer an HTTP request on the raw socket and close it (after an upgrade request, no `res` exists). */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const head = Object.entries({ Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(message)), ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${message}`);
}

/**
 * The WebSocket side of the wss listener. Messages are bounded by `maxMessageBytes` (ws refuses a
 * larger one with close code 1009 before buffering it); no compression (a small compressed message
 * can inflate to any size, and it costs CPU per message).
 */
export function createWebSocketServer(maxMessageBytes: number): WebSocketServer {
  // `closeTimeout` is in ws 8.19+, not yet in its type declarations.
  const options: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: maxMessageBytes,
    closeTimeout: WS_CLOSE_TIMEOUT_MS,
    handleProtocols: (protocols) => SUBPROTOCOLS.find((p) => protocols.has(p)) ?? false,
  };
  return new WebSocketServer(options);
}

/**
 * The MQTT byte stream of an open WebSocket, for aedes. [MQTT-6.0.0-1]: MQTT travels in binary
 * frames only; a text frame closes the connection (1003) and none of its bytes reach aedes or the
 * byte guard (`guard` wraps the stream's `push` first, so the refusal below runs before it).
 */
export function mqttStream(ws: WebSocket, o: { maxMessageBytes: number; guard(stream: Duplex): void; onTextFrame(): void }): Duplex {
  let refused = false;
  // Registered before createWebSocketStream's own listener, so it runs first for every message.
  ws.on('message', (_data, isBinary) => {
    if (isBinary || refused) return;
    refused = true;
    o.onTextFrame();
    ws.close(1003, 'MQTT needs binary frames');
  });
  const stream = createWebSocketStream(ws);
  o.guard(stream);
  const push = stream.push;
  stream.push = function refusingPush(this: Duplex, chunk: unknown, encoding?: BufferEncoding): boolean {
    // The end of the stream (null) still passes, so aedes sees the connection close.
    if (refused && chunk !== null) return false;
    return push.call(this, chunk, encoding);
  };
  // aedes writes a packet in pieces inside one cork (mqtt-packet writeToStream): without this each
  // piece would be a WebSocket frame and a TLS record of its own (a CONNACK in three).
  stream._writev = (chunks, callback) => {
    const messages = batchMessages(chunks.map((c) => c.chunk as Buffer), o.maxMessageBytes);
    let left = messages.length;
    let failed: Error | undefined;
    for (const m of messages) {
      ws.send(m, (err) => {
        failed ??= err ?? undefined;
        if (--left === 0) callback(failed);
      });
    }
  };
  return stream;
}

/**
 * Written chunks joined into WebSocket messages of at most `maxBytes` each (a larger chunk goes alone),
 * in order: a burst of deliveries in one tick is not one message larger than a client accepts.
 */
export function batchMessages(chunks: readonly Buffer[], maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  let group: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (group.length) out.push(group.length === 1 ? group[0]! : Buffer.concat(group, size));
    group = [];
    size = 0;
  };
  for (const c of chunks) {
    if (size > 0 && size + c.length > maxBytes) flush();
    group.push(c);
    size += c.length;
  }
  flush();
  return out;
}

/** ws's error for a message over `maxPayload` (or a length beyond 2^53), close code 1009. */
export const isOversizedMessage = (err: Error): boolean => (err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
