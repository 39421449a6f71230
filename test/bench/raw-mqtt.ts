// A minimal MQTT 3.1.1 client over plain TCP for message-path load: hand-encoded PUBLISH, PUBACK and
// SUBSCRIBE, a parser that only frames packets. The `mqtt` package costs several times the broker's
// own work per message, which on a shared 2-core machine would be measured as broker throughput.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connectPacket, deviceContext, fixedHeader, type LeanDevice } from '@twoway/testing';

const PUBLISH = 3;
const PUBACK = 4;
const CONNACK = 2;
const SUBACK = 9;

export class RawMqtt {
  private rest: Buffer | undefined;
  /** PUBLISH packets received, and PUBACKs received for our own QoS 1 publishes. */
  received = 0;
  acked = 0;
  /** Called after each chunk read from the socket was parsed. */
  onProgress: () => void = () => {};
  private connack: ((code: number) => void) | undefined;
  private suback: (() => void) | undefined;
  private nextId = 1;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.read(d));
  }

  static open(port: number, clientId: string, username: string, password: string): Promise<RawMqtt> {
    return RawMqtt.handshake(netConnect({ host: '127.0.0.1', port }), 'connect', clientId, username, password);
  }

  /** Over TLS with the device's client certificate (mutual TLS), as a device connects. */
  static openTls(d: LeanDevice): Promise<RawMqtt> {
    const socket = tlsConnect({ host: d.host, port: d.port, servername: d.servername, secureContext: deviceContext(d) });
    return RawMqtt.handshake(socket, 'secureConnect', d.clientId, d.username, d.password);
  }

  private static async handshake(socket: Socket, ready: 'connect' | 'secureConnect', clientId: string, username: string, password: string): Promise<RawMqtt> {
    await new Promise<void>((resolve, reject) => socket.once(ready, resolve).once('error', reject));
    const c = new RawMqtt(socket);
    const code = await new Promise<number>((resolve, reject) => {
      c.connack = resolve;
      socket.once('close', () => reject(new Error(`connection of ${clientId} closed before CONNACK`)));
      socket.write(connectPacket(clientId, username, password));
    });
    if (code !== 0) throw new Error(`CONNACK ${code} for ${clientId}`);
    return c;
  }

  subscribe(filter: string, qos: 0 | 1): Promise<void> {
    const t = Buffer.from(filter, 'utf8');
    const body = [0, 1, t.length >> 8, t.length & 0xff, ...t, qos];
    return new Promise((resolve) => {
      this.suback = resolve;
      this.socket.write(Buffer.concat([fixedHeader(0x82, body.length), Buffer.from(body)]));
    });
  }

  /** One PUBLISH packet, encoded once and written as often as needed (QoS 1: the id is patched). */
  static publishPacket(topic: string, payload: Buffer, qos: 0 | 1): { packet: Buffer; idOffset: number } {
    const t = Buffer.from(topic, 'utf8');
    const len = 2 + t.length + (qos ? 2 : 0) + payload.length;
    const head = fixedHeader(0x30 | (qos << 1), len);
    const packet = Buffer.alloc(head.length + len);
    packet.set(head, 0);
    packet.writeUInt16BE(t.length, head.length);
    t.copy(packet, head.length + 2);
    const idOffset = head.length + 2 + t.length;
    payload.copy(packet, idOffset + (qos ? 2 : 0));
    return { packet, idOffset };
  }

  publish(p: { packet: Buffer; idOffset: number }, qos: 0 | 1): void {
    if (qos === 0) {
      this.socket.write(p.packet);
      return;
    }
    const b = Buffer.from(p.packet);
    b.writeUInt16BE(this.nextId, p.idOffset);
    this.nextId = this.nextId === 0xffff ? 1 : this.nextId + 1;
    this.socket.write(b);
  }

  end(): void {
    this.socket.end(Buffer.from([0xe0, 0]));
  }

  private read(chunk: Buffer): void {
    let buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.rest = undefined;
    let acks: number[] | undefined;
    let i = 0;
    while (i + 2 <= buf.length) {
      let len = 0;
      let mul = 1;
      let j = i + 1;
      for (; j < buf.length; j++) {
        len += (buf[j]! & 0x7f) * mul;
        mul *= 128;
        if ((buf[j]! & 0x80) === 0) break;
      }
      if (j >= buf.length || j + 1 + len > buf.length) break;
      const type = buf[i]! >> 4;
      const body = j + 1;
      if (type === PUBLISH) {
        this.received++;
        if ((buf[i]! >> 1) & 3) {
          const idAt = body + 2 + buf.readUInt16BE(body);
          (acks ??= []).push(0x40, 2, buf[idAt]!, buf[idAt + 1]!);
        }
      } else if (type === PUBACK) this.acked++;
      else if (type === CONNACK) this.connack?.(buf[body + 1]!);
      else if (type === SUBACK) this.suback?.();
      i = body + len;
    }
    if (i < buf.length) this.rest = Buffer.from(buf.subarray(i));
    if (acks) this.socket.write(Buffer.from(acks));
    this.onProgress();
  }
}
