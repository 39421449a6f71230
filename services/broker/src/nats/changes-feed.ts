// Follows the CHANGES stream with a JetStream ordered consumer, starting after the last message that
// existed at start (earlier facts are already reflected in what the owners answer). The ordered
// consumer resumes at the next sequence after a reconnect, so nothing published meanwhile is missed.
// A change that fails to apply is retried, in order, until it applies: skipping it could leave a
// revoked certificate's session alive (fail open). Meanwhile the feed reports itself blocked.
import { DeliverPolicy, type ConsumerMessages, type JsMsg, type MsgHdrs } from 'nats';
import { Streams } from '@twoway/contracts';
import { MessageInvalidError, type Bus } from '@twoway/nats';
import type { Logger } from '@twoway/telemetry';
import { StallWatch } from './stall-watch.js';

export interface ChangesFeedOptions {
  bus: Bus;
  log: Logger;
  /**
   * Apply one message. When it throws, the same message is applied again (backing off) until it
   * succeeds; only a payload that does not match its contract (MessageInvalidError, which no retry
   * can fix) is logged and skipped. `headers` carry the trace of the write that published it.
   */
  apply(subject: string, data: Uint8Array, seq: number, headers: MsgHdrs | undefined): Promise<void>;
  /** The feed ended without stop(): the broker can no longer follow changes. */
  onEnded(err?: unknown): void;
  /** A change could not be applied and is being retried (`true`, readiness false), or it finally applied (`false`). */
  onBlocked?(blocked: boolean, info: { seq: number; subject: string; err?: unknown }): void;
  /** Backoff between attempts at one change (default CHANGE_RETRY). */
  retry?: { firstDelayMs: number; maxDelayMs: number };
  /** How often the feed compares itself with the stream, and how long behind without progress means stuck (tests). */
  lagCheckMs?: number;
  stuckAfterMs?: number;
  /** Wraps opening a consumer (tests stand in a consumer that goes silent). */
  openConsumer?(fromSeq: number, open: (fromSeq: number) => Promise<ConsumerMessages>): Promise<ConsumerMessages>;
}

export const CHANGE_RETRY = { firstDelayMs: 100, maxDelayMs: 5_000 };

/**
 * The ordered consumer lives on one NATS node. When that node dies, the client notices only by
 * missed heartbeats (every expires/2, two missed): with nats.js' default 30 s pulls that took ~30 s,
 * longer than the staleness bound, so changes stopped reaching the broker meanwhile (measured on a
 * 3-node cluster with the stream leader killed). 2 s pulls notice it in 2-3 s; the feed then
 * opens a new consumer itself (see watch).
 */
const PULL_EXPIRES_MS = 2_000;
const OPEN_TIMEOUT_MS = 3_000;

export class ChangesFeed {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  /** The highest stream sequence applied (or known at start). */
  processedSeq = 0;
  private done?: Promise<void>;
  /** Ends the wait between two attempts when the feed stops. */
  private wake?: () => void;
  /** Whether a change is currently failing to apply. */
  blocked = false;

  private constructor(private readonly o: ChangesFeedOptions) {}

  static async start(o: ChangesFeedOptions): Promise<ChangesFeed> {
    const f = new ChangesFeed(o);
    const jsm = await o.bus.jsm();
    const info = await jsm.streams.info(Streams.Changes.name);
    f.processedSeq = info.state.last_seq;
    f.messages = await f.open(info.state.last_seq + 1);
    f.done = f.run();
    // The last line of defence: a consumer can go silent without missing heartbeats (stall-watch.ts).
    f.stall = new StallWatch({
      last: () => f.streamLastSeq(),
      applied: () => f.processedSeq,
      paused: () => f.stopped || f.blocked || !f.messages,
      onStuck: (info) => {
        f.o.log.warn({ processedSeq: info.applied, streamLastSeq: info.last, behindMs: info.behindMs }, 'change feed behind the stream without progress: opening a new consumer');
        f.reopen = true;
        f.messages?.stop();
      },
      ...(o.lagCheckMs ? { everyMs: o.lagCheckMs } : {}),
      ...(o.stuckAfterMs ? { stuckAfterMs: o.stuckAfterMs } : {}),
    });
    f.stall.start();
    return f;
  }

  private stall?: StallWatch;
  /** New consumers opened because the feed was behind without progress. */
  get stuckReopens(): number {
    return this.stall?.stalls ?? 0;
  }

  private open(fromSeq: number): Promise<ConsumerMessages> {
    return this.o.openConsumer ? this.o.openConsumer(fromSeq, (s) => this.openReal(s)) : this.openReal(fromSeq);
  }

  private async openReal(fromSeq: number): Promise<ConsumerMessages> {
    const consumer = await this.o.bus.js.consumers.get(Streams.Changes.name, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq });
    return consumer.consume({ max_messages: 256, expires: PULL_EXPIRES_MS });
  }

  /**
   * `open`, given up after OPEN_TIMEOUT_MS: when the first attempt to create the consumer fails (no
   * stream leader yet), nats.js waits 30 s before its next one; a fresh attempt of ours is faster.
   * A consumer that arrives after we gave up is stopped.
   */
  private openWithin(fromSeq: number): Promise<ConsumerMessages> {
    return new Promise((resolve, reject) => {
      let late = false;
      const t = setTimeout(() => {
        late = true;
        reject(new Error(`no consumer on ${Streams.Changes.name} within ${OPEN_TIMEOUT_MS} ms`));
      }, OPEN_TIMEOUT_MS);
      this.open(fromSeq).then(
        (m) => {
          clearTimeout(t);
          if (late) m.stop();
          else resolve(m);
        },
        (err: unknown) => {
          clearTimeout(t);
          reject(err);
        },
      );
    });
  }

  /**
   * Missed heartbeats mean the node holding our consumer is gone: start a new ordered consumer after
   * the last applied change at once, instead of waiting out nats.js' own recovery (tens of seconds).
   */
  private watch(messages: ConsumerMessages): void {
    void (async () => {
      for await (const st of await messages.status()) {
        if (st.type === 'heartbeats_missed' && !this.stopped) {
          this.reopen = true;
          messages.stop();
          return;
        }
      }
    })().catch((err: unknown) => this.o.log.debug({ err }, 'change feed status watch ended'));
  }
  private reopen = false;

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const messages = this.messages!;
        this.watch(messages);
        for await (const m of messages) {
          // After a reopen the new consumer starts after the last applied change; skip what was already applied.
          if (m.seq <= this.processedSeq) continue;
          if (!(await this.applyUntilDone(m))) break;
          this.processedSeq = Math.max(this.processedSeq, m.seq);
        }
        if (this.stopped || !this.reopen) break;
        this.reopen = false;
        this.messages = await this.reopenAfter(this.processedSeq);
        if (!this.messages) break;
      }
      if (!this.stopped) this.o.onEnded();
    } catch (err) {
      if (!this.stopped) this.o.onEnded(err);
    }
  }

  /** A new consumer from the next change; while JetStream cannot place it (a leader election), retry, blocked. */
  private async reopenAfter(seq: number): Promise<ConsumerMessages | undefined> {
    const retry = this.o.retry ?? CHANGE_RETRY;
    let delay = retry.firstDelayMs;
    const info = { seq: seq + 1, subject: Streams.Changes.name };
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const m = await this.openWithin(seq + 1);
        if (this.stopped) {
          m.stop();
          return undefined;
        }
        if (this.blocked) {
          this.blocked = false;
          this.o.onBlocked?.(false, info);
        }
        this.o.log.warn({ fromSeq: seq + 1, attempts: attempt }, 'change feed resumed on a new consumer after missed heartbeats');
        return m;
      } catch (err) {
        if (!this.blocked) {
          this.blocked = true;
          this.o.onBlocked?.(true, { ...info, err });
        }
        this.o.log.warn({ err, attempt, retryInMs: delay }, 'change feed cannot resume yet; retrying');
      }
      await this.pause(delay);
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
    return undefined;
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(() => r(), ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    }).finally(() => (this.wake = undefined));
  }

  /** Returns false when the feed stopped before the change applied. */
  private async applyUntilDone(m: JsMsg): Promise<boolean> {
    const retry = this.o.retry ?? CHANGE_RETRY;
    let delay = retry.firstDelayMs;
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.o.apply(m.subject, m.data, m.seq, m.headers);
        if (this.blocked) {
          this.blocked = false;
          this.o.log.info({ subject: m.subject, seq: m.seq, attempts: attempt }, 'change event applied after retries; feed unblocked');
          this.o.onBlocked?.(false, { seq: m.seq, subject: m.subject });
        }
        return true;
      } catch (err) {
        if (err instanceof MessageInvalidError) {
          // No retry can make it match its schema; nothing in it can be acted on.
          this.o.log.error({ err, subject: m.subject, seq: m.seq }, 'change event does not match its contract; skipped');
          return true;
        }
        if (!this.blocked) {
          this.blocked = true;
          this.o.onBlocked?.(true, { seq: m.seq, subject: m.subject, err });
        }
        this.o.log.warn({ err, subject: m.subject, seq: m.seq, attempt, retryInMs: delay }, 'change event not applied; retrying it before any later one');
      }
      await this.pause(delay);
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
    return false;
  }

  /** The stream's current last sequence, to know when the feed has caught up after a reconnect. */
  async streamLastSeq(): Promise<number> {
    const jsm = await this.o.bus.jsm();
    return (await jsm.streams.info(Streams.Changes.name)).state.last_seq;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stall?.stop();
    this.wake?.();
    this.messages?.stop();
    await this.done;
  }
}
