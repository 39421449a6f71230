// What the broker knows about one socket before its CONNECT is decided: where it comes from, the
// chain it presented at the handshake, and the deadline it must meet (docs/design.md §4: a peer is
// unauthenticated until CONNECT is decided, so handshake plus CONNECT get a few seconds, not 120).
import type { MqttTransport } from '@twoway/contracts';

/** Where a socket was when its deadline passed (`twoway_broker_connect_timeouts_total{stage}`). */
export type DeadlineStage = 'handshake' | 'upgrade' | 'connect' | 'decision';

export interface ConnectSeen {
  clientId: string;
  username: string | undefined;
  traceId: string;
}

export class ConnState {
  /** DER of the presented certificates, leaf first. */
  peerChain: readonly Uint8Array[] = [];
  secure = false;
  /** wss only: the HTTP upgrade to a WebSocket is done. */
  upgraded = false;
  /** Set when a CONNECT arrived (no password kept). */
  seen: ConnectSeen | undefined;
  private decided = false;
  private released = false;
  private timer: NodeJS.Timeout | undefined;
  /** Answers the pending CONNECT with a refusal (set while its decision runs). */
  private answerer: ((returnCode: 5) => void) | undefined;

  constructor(
    readonly sourceAddress: string | undefined,
    readonly transport: MqttTransport,
    private readonly release: () => void,
  ) {}

  startDeadline(ms: number, onExpired: (st: ConnState) => void): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.decided) return;
      this.decided = true;
      this.releaseSlot();
      onExpired(this);
    }, ms);
    this.timer.unref();
  }

  /** How far the socket got: no TLS handshake, (wss) no WebSocket upgrade, no CONNECT, no decision. */
  get stage(): DeadlineStage {
    if (this.seen) return 'decision';
    if (this.transport !== 'tcp' && !this.secure) return 'handshake';
    if (this.transport === 'wss' && !this.upgraded) return 'upgrade';
    return 'connect';
  }

  /** The CONNECT was answered (or the deadline or a close ended it): byte limits switch to the session's. */
  get isDecided(): boolean {
    return this.decided;
  }

  connectArrived(a: { clientId: string; username: string | undefined }, traceId: string): void {
    this.seen = { clientId: a.clientId, username: a.username, traceId };
  }

  /**
   * How the deadline answers a CONNECT whose decision is still running: with a CONNACK refusal, as an
   * owner that does not answer is (UNDECIDABLE), so the device reads "refused, try again" instead of a
   * connection dropped without a word.
   */
  answerWith(answer: (returnCode: 5) => void): void {
    this.answerer = answer;
  }

  /** At the deadline: refuse the pending CONNECT with a CONNACK; false when none is pending (close the socket). */
  answerAtDeadline(): boolean {
    const a = this.answerer;
    this.answerer = undefined;
    if (!a || !this.seen) return false;
    a(5);
    return true;
  }

  /** The decision answers the CONNECT: false if the deadline already did. */
  claimDecision(): boolean {
    if (this.decided) return false;
    this.decided = true;
    this.answerer = undefined;
    this.clear();
    this.releaseSlot();
    return true;
  }

  /** The socket closed. */
  closed(): void {
    this.decided = true;
    this.answerer = undefined;
    this.clear();
    this.releaseSlot();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
  private releaseSlot(): void {
    if (this.released) return;
    this.released = true;
    this.release();
  }
}
