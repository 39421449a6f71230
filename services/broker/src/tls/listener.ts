// The MQTT listeners: TLS (always) and plain TCP (development only). Every socket gets a deadline for
// handshake plus CONNECT decision, a fair bound on unauthenticated sockets (per source address and in
// all, tls/pending-sockets.ts), byte limits before and after its CONNECT (tls/byte-guard.ts),
// TCP_NODELAY (without it CONNACK waits ~40 ms on Nagle plus delayed ACK), and its presented chain captured.
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, createSecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { Logger } from '@twoway/telemetry';
import { TlsMaterialError } from '../errors.js';
import type { BrokerMetrics } from '../http/metrics.js';
import { guardSocket, MqttByteGuard, type ByteLimits, type ByteViolation } from './byte-guard.js';
import { ConnState } from './conn-state.js';
import { PendingSockets } from './pending-sockets.js';
import { peerChainOf } from './peer-chain.js';
import { tlsContextOptions } from './server-options.js';

export type TlsMaterial = { certFile: string; keyFile: string } | { certPem: string; keyPem: string };

export interface ListenerOptions {
  host: string;
  port: number;
  plainPort: number | undefined;
  tls: TlsMaterial;
  connectDeadlineMs: number;
  maxPendingPerIp: number;
  /** Unauthenticated sockets from all addresses together. */
  maxPending: number;
  byteLimits: ByteLimits;
  log: Logger;
  metrics: BrokerMetrics;
  /** Hand an accepted socket to aedes. */
  handle(socket: Socket | TLSSocket, st: ConnState): void;
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
  ) {
    this.pending = new PendingSockets({ perAddress: o.maxPendingPerIp, total: o.maxPending });
  }

  static async start(o: ListenerOptions): Promise<MqttListeners> {
    const m = readMaterial(o.tls);
    const tlsServer = createTlsServer({ ...tlsContextOptions(m.cert, m.key), noDelay: true, handshakeTimeout: o.connectDeadlineMs });
    const plainServer = o.plainPort !== undefined ? createNetServer({ noDelay: true }) : undefined;
    const l = new MqttListeners(o, tlsServer, plainServer);
    l.materialHash = createHash('sha256').update(m.cert).update(m.key).digest('hex');
    tlsServer.on('connection', (raw: Socket) => l.onRawConnection(raw, 'tls'));
    tlsServer.on('secureConnection', (s: TLSSocket) => l.onSecure(s));
    tlsServer.on('tlsClientError', (err, s) => o.log.debug({ err: err.message, sourceAddress: s.remoteAddress }, 'TLS handshake failed'));
    plainServer?.on('connection', (raw: Socket) => {
      const st = l.onRawConnection(raw, 'tcp');
      if (!st) return;
      l.guard(raw, st);
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

  private onRawConnection(raw: Socket, transport: 'tls' | 'tcp'): ConnState | undefined {
    this.o.metrics.connections.inc({ transport });
    if (!this.listening) {
      raw.destroy();
      return undefined;
    }
    raw.setNoDelay(true);
    this.sockets.add(raw);
    raw.once('close', () => this.sockets.delete(raw));
    const ip = raw.remoteAddress ?? 'unknown';
    const key = `${ip}|${raw.remotePort}`;
    const entry = { raw } as PendingSocket;
    const st = new ConnState(raw.remoteAddress, transport, () => this.pending.release(ip, entry));
    entry.st = st;
    // Always admitted; at a bound the oldest pending socket of the fullest address makes room.
    for (const e of this.pending.admit(ip, entry)) {
      this.o.metrics.pendingRefused.inc({ bound: e.bound });
      this.o.log.debug({ sourceAddress: e.item.st.sourceAddress, bound: e.bound }, 'unauthenticated socket closed to make room for a newer one');
      e.item.raw.destroy();
    }
    if (transport === 'tls') this.states.set(key, st);
    st.startDeadline(this.o.connectDeadlineMs, (s) => {
      this.o.onDeadline(s);
      raw.destroy();
    });
    raw.once('close', () => {
      st.closed();
      this.states.delete(key);
    });
    return st;
  }

  private onSecure(s: TLSSocket): void {
    const key = `${s.remoteAddress ?? 'unknown'}|${s.remotePort}`;
    const st = this.states.get(key);
    this.states.delete(key);
    if (!st) {
      s.destroy();
      return;
    }
    st.secure = true;
    st.peerChain = peerChainOf(s);
    s.setNoDelay(true);
    this.guard(s, st);
    this.o.handle(s, st);
  }

  /** Byte limits on what the socket delivers to aedes (tls/byte-guard.ts). */
  private guard(s: Socket, st: ConnState): void {
    guardSocket(s, new MqttByteGuard(this.o.byteLimits, () => st.isDecided), (v) => {
      this.o.metrics.packetTooLarge.inc({ stage: v.stage });
      this.o.log.warn({ sourceAddress: st.sourceAddress, ...v }, 'MQTT byte limit exceeded: socket closed');
      this.o.onTooLarge(st, v);
    });
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
      this.materialHash = h;
      this.o.log.info({ certFile: 'certFile' in t ? t.certFile : undefined }, 'server certificate reloaded');
      return true;
    } catch (err) {
      this.o.log.warn({ err }, 'server certificate reload failed; keeping the previous one');
      return false;
    }
  }

  /** Stop accepting and close every socket still open (call after aedes has ended its sessions). */
  /**
   * Graceful drain: refuse new connections, keep every socket already open (sessions end one by one
   * through the drain). `stop()` still closes what is left.
   */
  stopAccepting(): void {
    this.listening = false;
    this.tlsServer?.close();
    this.plainServer?.close();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.listening = false;
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      for (const w of this.watchers) w.close();
      const close = (s: NetServer | TlsServer | undefined) => (s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve());
      const closed = Promise.all([close(this.tlsServer), close(this.plainServer)]);
      // Whatever aedes did not close (sockets still in the handshake or before CONNECT) goes now.
      for (const s of this.sockets) s.destroy();
      await closed;
    })();
    return this.stopping;
  }
}
