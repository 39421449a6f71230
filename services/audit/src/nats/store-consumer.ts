// The durable `audit-store` pull consumer: takes audit events off the stream in batches, stores each
// batch in one transaction and acknowledges only after it has committed. A crash between commit and
// ack means a redelivery, which the store ignores (the event id is its key): at-least-once delivery
// becomes exactly-once storage.
//
// Events are stored as they arrive: a missing `accountPath` is not looked up here. Publishers fill it
// from the ancestry they already hold (docs/audit.md, "Subtree"); asking account-settings per event
// would make this consumer wait on, or stall behind, a service it otherwise never needs. An event
// without a path is still stored and found through its own account.
import { AckPolicy, ConsumerEvents, DeliverPolicy, type ConsumerMessages, type JsMsg } from 'nats';
import { AuditEvent, AuditStoreConsumer, Streams } from '@twoway/contracts';
import { decode, MessageInvalidError, type Bus } from '@twoway/nats';
import type { Logger } from '@twoway/telemetry';
import { toRow, type AuditRow } from '../domain/audit-row.js';
import { afterWriteFailure, retryDelayMs } from '../domain/delivery.js';
import type { AuditRepository } from '../db/audit-repository.js';
import type { DeadLetterRow } from '../db/audit-event.entity.js';

/** A partial batch waits this long for more messages before it is written anyway. */
const LINGER_MS = 20;
const MAX_DEAD_LETTER_CHARS = 64 * 1024;
const RESTART_BACKOFF_MS = [250, 500, 1000, 2000, 5000];
const NS_PER_MS = 1_000_000;

/** What the consumer needs of the store (the repository; a fake in the consumer's tests). */
export type EventStore = Pick<AuditRepository, 'store' | 'ping'>;

export interface StoreConsumerOptions {
  bus: Bus;
  repo: EventStore;
  log: Logger;
  batchSize: number;
  ackWaitMs: number;
  /** Called with the events of a committed batch (the live tail). */
  onStored?: (events: AuditEvent[]) => void;
  /** Database reachability as the writes find it (readiness). */
  onDbState?: (reachable: boolean) => void;
  /** Nak delay by delivery count; tests shorten it. */
  retryDelayMs?: (deliveries: number) => number;
}

type Decoded = { m: JsMsg; row: AuditRow; event: AuditEvent } | { m: JsMsg; dead: DeadLetterRow };

export class StoreConsumer {
  private stopping = false;
  private messages?: ConsumerMessages;
  private buf: JsMsg[] = [];
  private chain: Promise<void> = Promise.resolve();
  private linger?: NodeJS.Timeout;
  private backoff?: { timer: NodeJS.Timeout; wake: () => void };
  private running: Promise<void>;
  private stopped?: Promise<void>;
  /** True while a consume() is open on the durable consumer. */
  private consuming = false;
  stored = 0;
  private readonly delay: (deliveries: number) => number;

  private constructor(private readonly o: StoreConsumerOptions) {
    this.delay = o.retryDelayMs ?? retryDelayMs;
    this.running = this.run();
  }

  static start(o: StoreConsumerOptions): StoreConsumer {
    return new StoreConsumer(o);
  }

  get alive(): boolean {
    return this.consuming && !this.stopping;
  }

  /** Create the durable consumer, or bring its settings up to date (another replica may have made it). */
  private async ensureConsumer(): Promise<void> {
    const jsm = await this.o.bus.jsm();
    const cfg = {
      durable_name: AuditStoreConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: this.o.ackWaitMs * NS_PER_MS,
      // Retry for as long as a database outage lasts; poison messages are terminated by us (delivery.ts).
      max_deliver: -1,
      // Bounds what is in flight (and in our buffer) while the database is slow.
      max_ack_pending: this.o.batchSize * 4,
      filter_subject: Streams.Audit.subjects[0],
    };
    try {
      const info = await jsm.consumers.info(Streams.Audit.name, AuditStoreConsumer);
      if (info.config.ack_wait !== cfg.ack_wait || info.config.max_ack_pending !== cfg.max_ack_pending) {
        await jsm.consumers.update(Streams.Audit.name, AuditStoreConsumer, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending });
      }
    } catch (e) {
      if (!/not found/i.test(String((e as Error).message))) throw e;
      await jsm.consumers.add(Streams.Audit.name, cfg);
    }
  }

  /** Consume until stopped; any end of the subscription (consumer deleted, error) restarts it with backoff. */
  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      try {
        await this.ensureConsumer();
        const consumer = await this.o.bus.js.consumers.get(Streams.Audit.name, AuditStoreConsumer);
        if (this.stopping) break;
        const messages = await consumer.consume({ max_messages: this.o.batchSize * 2 });
        this.messages = messages;
        this.consuming = true;
        attempt = 0;
        this.watch(messages).catch((e: unknown) => this.o.log.warn({ err: e }, 'audit-store consumer status watch failed'));
        for await (const m of messages) {
          const full = this.enqueue(m);
          if (full) await full;
        }
      } catch (e) {
        if (!this.stopping) this.o.log.warn({ err: e }, 'audit-store consumer failed; restarting');
        // The stream itself was deleted: recreate it (with its limits) rather than fail forever.
        if (!this.stopping && /stream not found/i.test(String((e as Error).message))) await this.o.bus.ensureStreams().catch(() => undefined);
      } finally {
        this.consuming = false;
        this.messages = undefined;
      }
      // What was buffered is written (and acked) before a restart; a stop writes it too.
      await this.flush();
      if (!this.stopping) {
        this.o.log.warn({ attempt }, 'audit-store consumer ended; resubscribing');
        await this.sleep(RESTART_BACKOFF_MS[Math.min(attempt++, RESTART_BACKOFF_MS.length - 1)]!);
      }
    }
  }

  private async watch(messages: ConsumerMessages): Promise<void> {
    for await (const s of await messages.status()) {
      if (s.type === ConsumerEvents.ConsumerDeleted || s.type === ConsumerEvents.ConsumerNotFound || s.type === ConsumerEvents.StreamNotFound) {
        this.o.log.warn({ status: s.type }, 'audit-store consumer lost; it will be recreated');
        this.consuming = false;
        messages.stop();
        return;
      }
    }
  }

  /**
   * Buffer a message; returns the write to await when the batch is full. A partial batch is written
   * after LINGER_MS, also when the stream is momentarily drained: in a burst (a revocation ending
   * hundreds of sessions on several replicas) events arrive in a trickle of small windows, and writing
   * at each drained moment made one transaction (and fsync) per window instead of one per burst.
   */
  private enqueue(m: JsMsg): Promise<void> | undefined {
    this.buf.push(m);
    if (this.buf.length >= this.o.batchSize) return this.flush();
    this.linger ??= setTimeout(() => {
      this.linger = undefined;
      void this.flush();
    }, LINGER_MS);
    return undefined;
  }

  private flush(): Promise<void> {
    clearTimeout(this.linger);
    this.linger = undefined;
    const batch = this.buf.splice(0);
    if (batch.length > 0) {
      // Batches are written one after another, in stream order.
      this.chain = this.chain.then(() => this.write(batch)).catch((e: unknown) => this.o.log.error({ err: e }, 'audit batch handling failed'));
    }
    return this.chain;
  }

  private decode(m: JsMsg): Decoded {
    let problems: string[];
    try {
      const event = decode(AuditEvent, m.data, m.subject);
      const r = toRow(event, m.seq);
      if (r.ok) return { m, row: r.row, event };
      problems = r.problems;
    } catch (e) {
      if (!(e instanceof MessageInvalidError)) throw e;
      problems = e.problems;
    }
    const text = new TextDecoder().decode(m.data);
    return {
      m,
      dead: {
        streamSeq: m.seq,
        subject: m.subject,
        receivedAt: new Date().toISOString(),
        problems: problems.join('; '),
        data: text.length > MAX_DEAD_LETTER_CHARS ? text.slice(0, MAX_DEAD_LETTER_CHARS) : text,
      },
    };
  }

  private async write(batch: JsMsg[]): Promise<void> {
    const items = batch.map((m) => this.decode(m));
    const rows = items.flatMap((i) => ('row' in i ? [i.row] : []));
    const dead = items.flatMap((i) => ('dead' in i ? [i.dead] : []));
    try {
      await this.o.repo.store(rows, dead);
    } catch (e) {
      await this.writeFailed(items, e);
      return;
    }
    this.committed(items);
  }

  /** After the commit, and only then: ack, log the dead letters, feed the live tail. */
  private committed(items: Decoded[]): void {
    this.o.onDbState?.(true);
    for (const i of items) i.m.ack();
    const events: AuditEvent[] = [];
    for (const i of items) {
      if ('dead' in i) this.o.log.warn({ subject: i.dead.subject, seq: i.dead.streamSeq, problems: i.dead.problems }, 'malformed audit message kept in audit_dead_letters');
      else events.push(i.event);
    }
    this.stored += events.length;
    if (events.length) this.o.onStored?.(events);
  }

  private async writeFailed(items: Decoded[], err: unknown): Promise<void> {
    const reachable = await this.o.repo.ping();
    this.o.onDbState?.(reachable);
    if (!reachable) {
      this.o.log.error({ err, count: items.length }, 'audit store unreachable; batch will be redelivered');
      for (const i of items) i.m.nak(this.delay(i.m.info.redeliveryCount));
      return;
    }
    // The database answers but the batch failed: one message at a time, so one bad row cannot hold the rest.
    this.o.log.warn({ err, count: items.length }, 'audit batch failed; storing one by one');
    for (const i of items) {
      try {
        await this.o.repo.store('row' in i ? [i.row] : [], 'dead' in i ? [i.dead] : []);
        this.committed([i]);
      } catch (e) {
        const deliveries = i.m.info.redeliveryCount;
        const d = afterWriteFailure({ dbReachable: await this.o.repo.ping(), deliveries });
        if (d === 'terminate') {
          this.o.log.error({ err: e, subject: i.m.subject, seq: i.m.seq, deliveries }, 'audit message could not be stored; terminated (it stays in the stream)');
          // No reason text: servers before 2.10.4 ignore a `+TERM reason` and would redeliver.
          i.m.term();
        } else {
          i.m.nak(this.delay(deliveries));
        }
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(this.backoff?.timer);
        this.backoff = undefined;
        resolve();
      };
      this.backoff = { timer: setTimeout(wake, ms), wake };
    });
  }

  /** Stop pulling, write what is buffered (its acks follow the commit), and return. Same promise twice. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.backoff?.wake();
      this.messages?.stop();
      await this.running;
      await this.flush();
    })();
    return this.stopped;
  }
}
