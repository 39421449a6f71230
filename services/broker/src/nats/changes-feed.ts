// Follows the CHANGES stream with a JetStream ordered consumer, starting after the last message that
// existed at start (earlier facts are already reflected in what the owners answer). The ordered
// consumer resumes at the next sequence after a reconnect, so nothing published meanwhile is missed.
import { DeliverPolicy, type ConsumerMessages, type MsgHdrs } from 'nats';
import { Streams } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import type { Logger } from '@twoway/telemetry';

export interface ChangesFeedOptions {
  bus: Bus;
  log: Logger;
  /**
   * Apply one message; an error is logged and the message skipped (a bad payload must not stall the
   * feed). `headers` carry the trace of the write that published it (the outbox row's traceparent).
   */
  apply(subject: string, data: Uint8Array, seq: number, headers: MsgHdrs | undefined): Promise<void>;
  /** The feed ended without stop(): the broker can no longer follow changes. */
  onEnded(err?: unknown): void;
}

export class ChangesFeed {
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  /** The highest stream sequence applied (or known at start). */
  processedSeq = 0;
  private done?: Promise<void>;

  private constructor(private readonly o: ChangesFeedOptions) {}

  static async start(o: ChangesFeedOptions): Promise<ChangesFeed> {
    const f = new ChangesFeed(o);
    const jsm = await o.bus.jsm();
    const info = await jsm.streams.info(Streams.Changes.name);
    f.processedSeq = info.state.last_seq;
    const consumer = await o.bus.js.consumers.get(Streams.Changes.name, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    f.messages = await consumer.consume({ max_messages: 256 });
    f.done = f.run();
    return f;
  }

  private async run(): Promise<void> {
    try {
      for await (const m of this.messages!) {
        try {
          await this.o.apply(m.subject, m.data, m.seq, m.headers);
        } catch (err) {
          this.o.log.error({ err, subject: m.subject, seq: m.seq }, 'change event not applied');
        }
        this.processedSeq = Math.max(this.processedSeq, m.seq);
      }
      if (!this.stopped) this.o.onEnded();
    } catch (err) {
      if (!this.stopped) this.o.onEnded(err);
    }
  }

  /** The stream's current last sequence, to know when the feed has caught up after a reconnect. */
  async streamLastSeq(): Promise<number> {
    const jsm = await this.o.bus.jsm();
    return (await jsm.streams.info(Streams.Changes.name)).state.last_seq;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.done;
  }
}
