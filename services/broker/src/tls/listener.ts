// The MQTT listeners: TLS (always), secure WebSocket (when configured) and plain TCP (development only).
// Every socket gets a deadline for handshake (wss: and upgrade) plus CONNECT decision, a fair bound on
// unauthenticated sockets (per source address and in all, tls/pending-sockets.ts), byte limits before and
// after its CONNECT (tls/byte-guard.ts), TCP_NODELAY (without it CONNACK waits ~40 ms on Nagle plus
// delayed ACK), and its presented chain captured. The wss listener is the TLS listener with an HTTP
// upgrade in between: same TLS options, same chain capture, same bounds, one pool of pending sockets.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, createSecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { MqttTransport } from '@twoway/contracts';
import type { Logger } from '@twoway/telemetry';
import { TlsMaterialError } from '../errors.js';
import type { BrokerMetrics } from '../http/metrics.js';
import { guardSocket, MqttByteGuard, type ByteLimits, type ByteViolation } from './byte-guard.js';
import { ConnState } from './conn-state.js';
import { PendingSockets } from './pending-sockets.js';
import { peerChainOf } from './peer-chain.js';
import { tlsContextOptions } from './server-options.js';
import { coalesceWrites } from './write-coalescer.js';
import { createWebSocketServer, isOversizedMessage, mqttStream, refuseUpgrade, upgradeRefusal, WSS_MAX_HEADER_BYTES, WSS_PATH, type WssRefusal } from './websocket.js';

export type TlsMaterial = { certFile: string; keyFile: string } | { certPem: string; keyPem: string };

export interface ListenerOptions {
  host: string;
  port: number;
  plainPort: number | undefined;
  /** MQTT over secure WebSocket on this port (path /mqtt); undefined: no wss listener. */
  wssPort: number | undefined;
  tls: TlsMaterial;
  connectDeadlineMs: number;
  maxPendingPerIp: number;
  /** Unauthenticated sockets from all addresses together. */
  maxPending: number;
  byteLimits: ByteLimits;
  log: Logger;
  metrics: BrokerMetrics;
  /** Hand an accepted connection to aedes: the socket, or on wss the WebSocket's MQTT stream. */
  handle(socket: Duplex, st: ConnState): void;
  /** The deadline passed before the CONNECT was decided. */
  onDeadline(st: ConnState): void;
  /** A byte limit was exceeded: the socket is being closed. */
  onTooLarge(st: ConnState, v: ByteViolation): void;
}

interface PendingSocket {
  raw: Socket;
  st: ConnState;
}

const RELOAD_DEBOUNCE_MS = 100;
/** After a CONNACK refusal at the deadline, the socket is destroyed this long later if still open. */
const CONNACK_GRACE_MS = 1_000;

function readMaterial(t: TlsMaterial): { cert: string; key: string } {
  if ('certPem' in t) return { cert: t.certPem, key: t.keyPem };
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new TlsMaterialError(f, `cannot read ${f}`, { cause: e });
    }
  };
  const m = { cert: read(t.certFile), key: read(t.keyFile) };
  try {
    createSecureContext(tlsContextOptions(m.cert, m.key));
  } catch (e) {
    throw new TlsMaterialError(t.certFile, `the server certificate and key in ${t.certFile} / ${t.keyFile} do not load`, { cause: e });
  }
  return m;
}

export class MqttListeners {
  private readonly pending: PendingSockets<PendingSocket>;
  private readonly states = new Map<string, ConnState>();
  /** wss: the state of a TLS socket between its handshake and its upgrade. */
  private readonly upgrading = new WeakMap<Duplex, ConnState>();
  private readonly watchers: FSWatcher[] = [];
  private readonly sockets = new Set<Socket>();
  private reloadTimer: NodeJS.Timeout | undefined;
  private materialHash = '';
  private stopping?: Promise<void>;
  listening = false;

  private constructor(
    private readonly o: ListenerOptions,
    readonly tlsServer: TlsServer,
    readonly plainServer: NetServer | undefined,
    readonly wssServer: HttpsServer | undefined,
  ) {
    this.pending = new PendingSockets({ perAddress: o.maxPendingPerIp, total: o.maxPending });
  }

  static async start(o: ListenerOptions): Promise<MqttListeners> {
    const m = readMaterial(o.tls);
    const tlsServer = createTlsServer({ ...tlsContextOptions(m.cert, m.key), noDelay: true, handshakeTimeout: o.connectDeadlineMs });
    const plainServer = o.plainPort !== undefined ? createNetServer({ noDelay: true }) : undefined;
    const wssServer = o.wssPort !== undefined
      ? createHttpsServer({ ...tlsContextOptions(m.cert, m.key), noDelay: true, handshakeTimeout: o.connectDeadlineMs, maxHeaderSize: WSS_MAX_HEADER_BYTES })
      : undefined;
    const l = new MqttListeners(o, tlsServer, plainServer, wssServer);
    l.materialHash = createHash('sha256').update(m.cert).update(m.key).digest('hex');
    tlsServer.on('connection', (raw: Socket) => l.onRawConnection(raw, 'tls'));
    tlsServer.on('secureConnection', (s: TLSSocket) => l.onSecure(s, 'tls'));
    tlsServer.on('tlsClientError', (err, s) => o.log.debug({ err: err.message, sourceAddress: s.remoteAddress }, 'TLS handshake failed'));
    if (wssServer) l.serveWebSocket(wssServer);
    plainServer?.on('connection', (raw: Socket) => {
      const st = l.onRawConnection(raw, 'tcp');
      if (!st) return;
      l.guard(raw, st);
      coalesceWrites(raw);
      o.handle(raw, st);
    });
    await new Promise<void>((res, rej) => {
      tlsServer.once('error', rej);
      tlsServer.listen(o.port, o.host, () => res());
    });
    if (plainServer) {
      await new Promise<void>((res, rej) => {
        plainServer.once('error', rej);
        plainServer.listen(o.plainPort, o.host, () => res());
      });
      o.log.warn({ port: (plainServer.address() as { port: number }).port }, 'plain TCP MQTT listener enabled: development only');
    }
    if (wssServer) {
      await new Promise<void>((res, rej) => {
        wssServer.once('error', rej);
        wssServer.listen(o.wssPort, o.host, () => res());
      });
    }
    l.listening = true;
    if ('certFile' in o.tls) l.watch(o.tls.certFile, o.tls.keyFile);
    return l;
  }

  /** Sockets not yet decided, all addresses together. */
  get pendingSockets(): number {
    return this.pending.size;
  }

  get tlsPort(): number {
    return (this.tlsServer.address() as { port: number }).port;
  }
  get plainPort(): number | undefined {
    return this.plainServer ? (this.plainServer.address() as { port: number }).port : undefined;
  }
  get wssPort(): number | undefined {
    return this.wssServer ? (this.wssServer.address() as { port: number }).port : undefined;
  }

  private onRawConnection(raw: Socket, transport: MqttTransport): ConnState | undefined {
    this.o.metrics.connections.inc({ transport });
    if (!this.listening) {
      raw.destroy();
      return undefined;
    }
    raw.setNoDelay(true);
    this.sockets.add(raw);
    raw.once('close', () => this.sockets.delete(raw));
    const ip = raw.remoteAddress ?? 'unknown';
    const key = `${transport}|${ip}|${raw.remotePort}`;
    const entry = { raw } as PendingSocket;
    const st = new ConnState(raw.remoteAddress, transport, () => this.pending.release(ip, entry));
    entry.st = st;
    // Always admitted; at a bound the oldest pending socket of the fullest address makes room.
    for (const e of this.pending.admit(ip, entry)) {
      this.o.metrics.pendingRefused.inc({ bound: e.bound });
      this.o.log.debug({ sourceAddress: e.item.st.sourceAddress, bound: e.bound }, 'unauthenticated socket closed to make room for a newer one');
      e.item.raw.destroy();
    }
    if (transport !== 'tcp') this.states.set(key, st);
    st.startDeadline(this.o.connectDeadlineMs, (s) => {
      this.o.onDeadline(s);
      // A CONNECT still being decided gets its CONNACK refusal; aedes then closes the connection, and
      // a peer that does not read it is cut off after a moment.
      if (s.answerAtDeadline()) setTimeout(() => raw.destroy(), CONNACK_GRACE_MS).unref();
      else raw.destroy();
    });
    raw.once('close', () => {
      st.closed();
      this.states.delete(key);
    });
    return st;
  }

  private onSecure(s: TLSSocket, transport: 'tls' | 'wss'): void {
    const key = `${transport}|${s.remoteAddress ?? 'unknown'}|${s.remotePort}`;
    const st = this.states.get(key);
    this.states.delete(key);
    if (!st) {
      s.destroy();
      return;
    }
    st.secure = true;
    st.peerChain = peerChainOf(s);
    s.setNoDelay(true);
    if (transport === 'wss') {
      // MQTT starts after the upgrade (onUpgrade); the deadline runs on.
      this.upgrading.set(s, st);
      return;
    }
    this.guard(s, st);
    coalesceWrites(s);
    this.o.handle(s, st);
  }

  /**
   * The wss listener: an HTTPS server that takes only WebSocket upgrades on /mqtt offering the mqtt
   * subprotocol (tls/websocket.ts). Messages are bounded by the larger of the two MQTT byte limits, so
   * a CONNECT within TWOWAY_MQTT_MAX_CONNECT_BYTES and a packet within TWOWAY_MQTT_MAX_PACKET_BYTES
   * each fit in one message; the byte guard then applies to the MQTT bytes as on the TLS port.
   */
  private serveWebSocket(server: HttpsServer): void {
    const maxMessageBytes = Math.max(this.o.byteLimits.beforeDecisionBytes, this.o.byteLimits.maxPacketBytes);
    const wss = createWebSocketServer(maxMessageBytes);
    server.on('connection', (raw: Socket) => this.onRawConnection(raw, 'wss'));
    server.on('secureConnection', (s: TLSSocket) => this.onSecure(s, 'wss'));
    server.on('tlsClientError', (err, s) => this.o.log.debug({ err: err.message, sourceAddress: s.remoteAddress }, 'TLS handshake failed (wss)'));
    // A plain HTTPS request: nothing but MQTT is served here.
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.refused('not_upgrade', this.upgrading.get(req.socket));
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket', 'Content-Type': 'text/plain' }).end(`MQTT over WebSocket: upgrade on ${WSS_PATH} with subprotocol mqtt`);
    });
    wss.on('wsClientError', (err, socket) => {
      this.refused('handshake', this.upgrading.get(socket));
      refuseUpgrade(socket, 400, err.message);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const st = this.upgrading.get(socket);
      if (!st || !this.listening) {
        socket.destroy();
        return;
      }
      const refusal = upgradeRefusal(req);
      if (refusal) {
        this.refused(refusal.reason, st);
        refuseUpgrade(socket, refusal.status, refusal.message);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        this.upgrading.delete(socket);
        st.upgraded = true;
        ws.on('error', (err) => {
          // ws has sent its close frame (1009 for size, 1002 for a protocol error) and closes the socket.
          if (isOversizedMessage(err)) this.tooLarge(st, { stage: st.isDecided ? 'session' : 'connect', limit: maxMessageBytes, websocketMessage: true });
          else this.refused('frame_error', st, err);
        });
        const stream = mqttStream(ws, { maxMessageBytes, guard: (s) => this.guard(s, st), onTextFrame: () => this.refused('text_frame', st) });
        this.o.handle(stream, st);
      });
    });
  }

  private refused(reason: WssRefusal, st: ConnState | undefined, err?: Error): void {
    this.o.metrics.wssRefused.inc({ reason });
    this.o.log.debug({ reason, sourceAddress: st?.sourceAddress, err: err?.message }, 'wss connection refused');
  }

  /** Byte limits on what the socket delivers to aedes (tls/byte-guard.ts). */
  private guard(s: Duplex, st: ConnState): void {
    guardSocket(s, new MqttByteGuard(this.o.byteLimits, () => st.isDecided), (v) => this.tooLarge(st, v));
  }

  private tooLarge(st: ConnState, v: ByteViolation): void {
    this.o.metrics.packetTooLarge.inc({ stage: v.stage });
    this.o.log.warn({ sourceAddress: st.sourceAddress, transport: st.transport, ...v }, 'MQTT byte limit exceeded: socket closed');
    this.o.onTooLarge(st, v);
  }

  /** Rotation without restart: watch the directories (Kubernetes swaps a symlink, editors rename). */
  private watch(certFile: string, keyFile: string): void {
    const dirs = new Set([dirname(resolve(certFile)), dirname(resolve(keyFile))]);
    for (const d of dirs) {
      try {
        const w = watch(d, () => this.scheduleReload(certFile, keyFile));
        w.on('error', (err) => this.o.log.warn({ err, dir: d }, 'watching the TLS directory failed'));
        this.watchers.push(w);
      } catch (err) {
        this.o.log.warn({ err, dir: d }, 'cannot watch the TLS directory: rotation needs a restart');
      }
    }
  }

  private scheduleReload(certFile: string, keyFile: string): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      this.reload({ certFile, keyFile });
    }, RELOAD_DEBOUNCE_MS);
  }

  /** Load the files again; a half-written or mismatched pair keeps the previous context. */
  reload(t: TlsMaterial): boolean {
    try {
      const m = readMaterial(t);
      const h = createHash('sha256').update(m.cert).update(m.key).digest('hex');
      if (h === this.materialHash) return false;
      this.tlsServer.setSecureContext(tlsContextOptions(m.cert, m.key));
      this.wssServer?.setSecureContext(tlsContextOptions(m.cert, m.key));
      this.materialHash = h;
      this.o.log.info({ certFile: 'certFile' in t ? t.certFile : undefined }, 'server certificate reloaded');
      return true;
    } catch (err) {
      this.o.log.warn({ err }, 'server certificate reload failed; keeping the previous one');
      return false;
    }
  }

  /**
   * Graceful drain: refuse new connections, keep every socket already open (sessions end one by one
   * through the drain). `stop()` still closes what is left.
   */
  stopAccepting(): void {
    this.listening = false;
    this.tlsServer?.close();
    this.plainServer?.close();
    this.wssServer?.close();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.listening = false;
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      for (const w of this.watchers) w.close();
      const close = (s: NetServer | TlsServer | HttpsServer | undefined) => (s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve());
      const closed = Promise.all([close(this.tlsServer), close(this.plainServer), close(this.wssServer)]);
      // Whatever aedes did not close (sockets still in the handshake or before CONNECT) goes now.
      for (const s of this.sockets) s.destroy();
      await closed;
    })();
    return this.stopping;
  }
}
