// Per-connection byte limits, enforced before aedes buffers anything: aedes' parser (mqtt-packet)
// accepts a declared packet length up to 256 MB and buffers until it has it all, before CONNECT too.
// This scanner reads only MQTT fixed headers (type byte, Remaining Length [MQTT-2.2.3]) as bytes
// arrive and skips bodies, so it costs O(1) per chunk plus a few steps per packet. Limits:
//   before the CONNECT is decided: every byte received, the CONNECT included (a CONNECT carries at
//     most a client id, credentials and a will; a device waits for CONNACK before sending more);
//   after: each packet, fixed header included (Mosquitto's max_packet_size).
// The TLS handshake happens below this (OpenSSL bounds a certificate list at 100 KiB) and within the
// connect deadline.

export interface ByteLimits {
  /** Bytes of MQTT accepted on a socket before its CONNECT is decided. */
  beforeDecisionBytes: number;
  /** Largest MQTT packet accepted afterwards. */
  maxPacketBytes: number;
}

export interface ByteViolation {
  stage: 'connect' | 'session';
  /**
   * What the peer declared or sent: a packet's whole size, or the bytes received before the decision.
   * Absent for a WebSocket message: ws refuses it by its declared length without telling it.
   */
  bytes?: number;
  limit: number;
  /** wss: one WebSocket message was over the bound (tls/websocket.ts), before any of its MQTT was read. */
  websocketMessage?: true;
}

export class MqttByteGuard {
  private state: 'header' | 'length' | 'body' | 'off' = 'header';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  private received = 0;

  constructor(
    private readonly limits: ByteLimits,
    private readonly decided: () => boolean,
  ) {}

  /** Scan the next bytes from the peer; a violation means close the socket without passing them on. */
  feed(chunk: Uint8Array): ByteViolation | undefined {
    if (this.state === 'off') return undefined;
    const decided = this.decided();
    if (!decided) {
      this.received += chunk.length;
      if (this.received > this.limits.beforeDecisionBytes) return { stage: 'connect', bytes: this.received, limit: this.limits.beforeDecisionBytes };
    }
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const n = Math.min(this.remaining, chunk.length - i);
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'header';
      } else if (this.state === 'header') {
        i += 1;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else {
        const b = chunk[i++]!;
        this.length += (b & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes += 1;
        if (b & 0x80) {
          // A fifth length byte is malformed [MQTT-2.2.3]: aedes refuses it, nothing more to guard.
          if (this.lengthBytes >= 4) this.state = 'off';
          if (this.state === 'off') return undefined;
          continue;
        }
        const total = 1 + this.lengthBytes + this.length;
        const limit = decided ? this.limits.maxPacketBytes : this.limits.beforeDecisionBytes;
        if (total > limit) return { stage: decided ? 'session' : 'connect', bytes: total, limit };
        this.remaining = this.length;
        this.state = this.remaining > 0 ? 'body' : 'header';
      }
    }
    return undefined;
  }
}

/**
 * Watch what a socket receives, before aedes reads it: a Readable's bytes all enter through `push`
 * (node's stream_base onStreamRead calls `stream.push`), so wrapping the instance's `push` sees them
 * without another stream between the socket and aedes (which needs the socket itself: its address,
 * its TLS session, its `destroy`). On a violation the chunk is dropped and the socket destroyed.
 */
export function guardSocket(socket: { push(chunk: unknown, encoding?: BufferEncoding): boolean; destroy(): void }, guard: MqttByteGuard, onViolation: (v: ByteViolation) => void): void {
  const push = socket.push;
  let violated = false;
  socket.push = function guardedPush(this: unknown, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (violated) return false;
    if (chunk instanceof Uint8Array) {
      const v = guard.feed(chunk);
      if (v) {
        violated = true;
        onViolation(v);
        socket.destroy();
        return false;
      }
    }
    return push.call(this, chunk, encoding);
  };
}
