// A minimal MQTT 3.1.1 device for load generation: a real TLS connection with a client certificate,
// one hand-encoded CONNECT, the CONNACK read, then nothing but waiting for the server to close.
// Benchmarks that hold hundreds of sessions in one process use it instead of the `mqtt` package,
// whose per-client bookkeeping (timers, stores, stream plumbing) stalls the process for tens of
// milliseconds when hundreds of connections end at once, which would be measured as server latency.
// Tests use the real clients (`mqtt`, mosquitto_pub/sub); this is only a load generator.
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';

export interface LeanDevice {
  host: string;
  port: number;
  servername: string;
  ca: string;
  cert: string;
  key: string;
  username: string;
  password: string;
  clientId: string;
}

export interface LeanSession {
  /** CONNACK return code: 0 accepted, 4 bad credentials, 5 not authorised [MQTT-3.2.2-3]. */
  returnCode: number;
  socket: TLSSocket;
  /** Resolves with the wall-clock time (ms, sub-ms precision) at which the server closed the connection. */
  closed: Promise<number>;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

const utf8 = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

/** An MQTT fixed header: the packet type byte and the Remaining Length varint [MQTT-2.2.3]. */
export function fixedHeader(type: number, remainingLength: number): Buffer {
  const out = [type];
  let n = remainingLength;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** CONNECT with clean session, username and password, keep-alive 0 (no PINGREQ traffic during the benchmark). */
export function connectPacket(clientId: string, username: string, password: string): Buffer {
  const variable = Buffer.concat([utf8('MQTT'), Buffer.from([4, 0x80 | 0x40 | 0x02, 0, 0])]);
  const payload = Buffer.concat([utf8(clientId), utf8(username), utf8(password)]);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([fixedHeader(0x10, body.length), body]);
}

// Parsing the key and certificates costs milliseconds a connect; a fleet shares one device identity.
const contexts = new Map<string, SecureContext>();
/** The TLS context of a device identity (CA, chain, key), made once per identity. */
export function deviceContext(d: Pick<LeanDevice, 'ca' | 'cert' | 'key'>): SecureContext {
  const k = `${d.ca}\0${d.cert}\0${d.key}`;
  let c = contexts.get(k);
  if (!c) contexts.set(k, (c = createSecureContext({ ca: d.ca, cert: d.cert, key: d.key, minVersion: 'TLSv1.2' })));
  return c;
}

/** Open one session; rejects on a TLS or socket error before the CONNACK. */
export function openLean(d: LeanDevice, timeoutMs = 10_000): Promise<LeanSession> {
  return new Promise((resolve, reject) => {
    let closedAt: (t: number) => void = () => undefined;
    const closed = new Promise<number>((r) => (closedAt = r));
    const socket = tlsConnect({ host: d.host, port: d.port, servername: d.servername, secureContext: deviceContext(d) });
    socket.setNoDelay(true);
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    let buf = Buffer.alloc(0);
    let answered = false;
    const fail = (e: Error) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.once('secureConnect', () => socket.write(connectPacket(d.clientId, d.username, d.password)));
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      if (buf[0] !== 0x20 || buf[1] !== 0x02) return fail(new Error(`not a CONNACK: ${buf.subarray(0, 4).toString('hex')}`));
      answered = true;
      clearTimeout(timer);
      resolve({ returnCode: buf[3]!, socket, closed });
    });
    // 'end' is the server's FIN: the moment the device learns its session is over.
    socket.once('end', () => closedAt(wallNow()));
    socket.once('close', () => {
      closedAt(wallNow());
      if (!answered) fail(new Error('connection closed before CONNACK'));
    });
    socket.on('error', (e) => fail(e));
  });
}
