// Audit events leave the connect path without being awaited: they wait in a bounded in-memory queue
// and a single pump publishes them to JetStream, a window at a time, retrying with backoff while NATS
// is away. When the queue is full the oldest event is dropped, counted and logged: a flood of refused
// connects during an outage must not exhaust memory. The event id is the JetStream message id, so a
// retry that did reach the stream is stored once.
//
// A window of publishes goes out in one socket write and its acks come back together: one ack round
// trip per event costs each replica ~1 ms of CPU per ended session in a revocation storm (loopback
// writes, timers), which on a shared machine delays the other replicas' closes. The stream keeps the
// order of a window. After a failure the pump publishes one event at a time until one succeeds, so a
// retried event is not overtaken by the events queued behind it; only those already in flight beside
// it can land before it (its `time` is unchanged, so consumers ordering by time are unaffected).
//
// With a spill (audit-spill.ts), nothing is dropped from memory: while NATS is away, or once the
// memory queue is full, events go to the spill file instead (what was queued in memory too, when NATS
// goes), and after that every new event follows them there until the spill is replayed, so that the
// spill is published oldest first. Its own byte bound decides what is dropped.
import { auditSubject, type AuditEvent } from '@twoway/contracts';
import type { Logger } from '@twoway/telemetry';
import type { AuditSpill } from './audit-spill.js';

export interface AuditPublisher {
  publishEvent(subject: string, event: { id: string }): Promise<void>;
  /** While false the queue holds its events: a JetStream publish sent into an outage waits for its full ack timeout. */
  readonly connected: boolean;
}

const RETRY_MIN_MS = 100;
/** Publishes in flight at once. */
export const AUDIT_PUBLISH_WINDOW = 64;
const RETRY_MAX_MS = 5_000;

export class AuditQueue {
  private readonly queue: AuditEvent[] = [];
  private pumping = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = RETRY_MIN_MS;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly publisher: AuditPublisher,
    private readonly maxSize: number,
    private readonly log: Logger,
    private readonly onDrop: () => void,
    private readonly spill?: AuditSpill,
  ) {
    // Replayed on start: what a previous run (or a replica that died) left on disk.
    if (spill?.events) this.pump();
  }

  /** Appends the spill refused (each event then stayed in memory). */
  spillFailures = 0;

  /** Events waiting: in memory and spilled. */
  get length(): number {
    return this.queue.length + (this.spill?.events ?? 0);
  }

  push(ev: AuditEvent): void {
    if (this.stopped) return;
    if (this.spill && (this.spill.events > 0 || !this.publisher.connected || this.queue.length >= this.maxSize)) {
      try {
        this.spill.append(ev);
        this.pump();
        return;
      } catch (err) {
        // A disk that refuses the write (full, read-only, removed) must not cost the caller its
        // answer: the event stays in memory, within the same bound as without a spill.
        this.spillFailed(err);
      }
    }
    if (this.queue.length >= this.maxSize) {
      const dropped = this.queue.shift();
      this.onDrop();
      this.log.warn({ dropped: dropped?.id, type: dropped?.type, queued: this.queue.length }, 'audit queue full: oldest event dropped');
    }
    this.queue.push(ev);
    this.pump();
  }

  private pumpAgain = false;
  private holdTimer: NodeJS.Timeout | undefined;
  /** The current window: AUDIT_PUBLISH_WINDOW, or 1 after a failed publish until one succeeds. */
  private window = AUDIT_PUBLISH_WINDOW;

  /**
   * Publish nothing for `ms`: after a replica ended many sessions at once, its CPU goes first to the
   * devices that reconnect straight away (each must be refused quickly) and, on a node shared with
   * other replicas, to their closes; the batch's `session.ended` events follow, unchanged, a moment
   * later (revocation benchmark, docs/benchmarks.md).
   */
  holdFor(ms: number): void {
    if (this.stopped || ms <= 0) return;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.release(), ms);
  }

  private release(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.pump();
  }

  private pump(): void {
    if (this.stopped || this.holdTimer) return;
    if (this.pumping) {
      // A run is finishing: it looks again when done (a resume() must not be lost).
      this.pumpAgain = true;
      return;
    }
    if (this.retryTimer) return;
    this.pumping = true;
    this.pumpAgain = false;
    void this.run().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async run(): Promise<void> {
    while ((this.queue.length || this.spill?.events) && !this.stopped && !this.holdTimer) {
      if (!this.publisher.connected) {
        // On disk while NATS is away: a crash meanwhile loses nothing.
        this.spillQueue();
        // Parked until resume() (NATS back) or the next backoff tick.
        this.schedule();
        return;
      }
      if (!this.queue.length) {
        if (!(await this.replaySegment())) {
          this.window = 1;
          this.schedule();
          return;
        }
        this.backoffMs = RETRY_MIN_MS;
        continue;
      }
      const window = this.queue.slice(0, this.window);
      const results = await Promise.allSettled(window.map((ev) => this.publisher.publishEvent(auditSubject(ev.type), ev)));
      const published = new Set(window.filter((_, i) => results[i]!.status === 'fulfilled'));
      // Only remove what was published. The window was the queue's head, and a drop-oldest meanwhile
      // only removes from the head, so the published events are all within the window's length of it.
      const head = this.queue.splice(0, window.length);
      this.queue.unshift(...head.filter((e) => !published.has(e)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        this.log.warn({ err: failed.reason, failed: window.length - published.size, queued: this.queue.length, retryInMs: this.backoffMs }, 'audit publish failed; will retry');
        this.window = 1;
        this.schedule();
        return;
      }
      this.window = AUDIT_PUBLISH_WINDOW;
      this.backoffMs = RETRY_MIN_MS;
    }
    if (this.holdTimer) return; // not idle: held, the release pumps again
    const w = this.idleWaiters;
    this.idleWaiters = [];
    w.forEach((f) => f());
  }

  /** Move what waits in memory to the spill, in order. */
  private spillQueue(): void {
    if (!this.spill) return;
    while (this.queue.length) {
      try {
        this.spill.append(this.queue[0]!);
      } catch (err) {
        // What the disk refused stays in memory (bounded, drop-oldest) and is tried again later.
        this.spillFailed(err);
        return;
      }
      this.queue.shift();
    }
  }

  private spillFailed(err: unknown): void {
    this.spillFailures += 1;
    if (this.spillFailures === 1 || this.spillFailures % 1000 === 0) this.log.error({ err, failures: this.spillFailures }, 'audit spill write failed: events kept in memory');
  }

  /**
   * Publish the oldest spilled segment, a window at a time; delete it once all of it is published.
   * On a failure the segment stays: its published events go again and are deduplicated by id.
   */
  private async replaySegment(): Promise<boolean> {
    const seg = await this.spill!.takeOldest();
    if (!seg) return true;
    for (let i = 0; i < seg.events.length; i += AUDIT_PUBLISH_WINDOW) {
      if (this.stopped || !this.publisher.connected) {
        this.spill!.release();
        return false;
      }
      const window = seg.events.slice(i, i + AUDIT_PUBLISH_WINDOW);
      const results = await Promise.allSettled(window.map((ev) => this.publisher.publishEvent(auditSubject(ev.type), ev)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        this.spill!.release();
        this.log.warn({ err: failed.reason, spilled: this.spill!.events, retryInMs: this.backoffMs }, 'audit replay from the spill failed; will retry');
        return false;
      }
    }
    seg.done();
    return true;
  }

  private schedule(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, RETRY_MAX_MS);
  }

  /** NATS is back: publish what waited, now. */
  resume(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.backoffMs = RETRY_MIN_MS;
    this.pump();
  }

  /** Resolve when the queue is empty or `timeoutMs` passed (used at stop). */
  flush(timeoutMs: number): Promise<void> {
    if (!this.queue.length) return Promise.resolve();
    if (this.holdTimer) this.release();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Stop publishing; with a spill, what waits in memory is written to it and it is closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.spill) {
      // A publish in flight may still succeed: its event is then published twice, and stored once.
      this.spillQueue();
      await this.spill.close();
      if (this.spill.events) this.log.warn({ spilled: this.spill.events }, 'audit events kept in the spill for the next start');
      return;
    }
    if (this.queue.length) this.log.warn({ lost: this.queue.length }, 'audit events not published at stop');
  }
}
