// Changes reach a broker twice: announced on core NATS the moment the writer's outbox relay sees them
// (libs/contracts `liveChangeSubject`), and stored in the CHANGES stream, which the change feed follows
// in order. The announcement is what makes a revocation take effect in milliseconds even while the
// stream cannot store (a leader election after a NATS node loss takes seconds); the stream is what
// makes it certain (an announcement sent while this replica was disconnected is simply not received).
//
// Both enter through one lane: one change applied at a time, whichever path it came by, and a change
// whose announcement was applied is not applied again when the stream delivers it. Applying twice would
// still be harmless (trust-set updates are ordered by the event's time, the second kick finds nothing),
// so the ids remembered are bounded and the oldest forgotten first.
import { LruMap } from '@twoway/lru';

/** Event ids remembered as applied: the stream's copy normally follows its announcement within milliseconds. */
export const APPLIED_IDS_MAX = 10_000;
/** Announcements waiting for the lane; further ones are dropped and applied from the stream instead. */
export const LIVE_QUEUE_MAX = 1_000;

export type ChangePath = 'live' | 'stream';

export class ChangeLane {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly applied: LruMap<string, true>;
  private liveWaiting = 0;
  /** Announcements dropped because LIVE_QUEUE_MAX were waiting. */
  liveDropped = 0;

  constructor(private readonly o: { appliedIdsMax?: number; liveQueueMax?: number; onLiveDropped?: () => void } = {}) {
    this.applied = new LruMap(o.appliedIdsMax ?? APPLIED_IDS_MAX);
  }

  /** Whether a change with this event id was already applied (by either path). */
  wasApplied(eventId: string): boolean {
    return this.applied.has(eventId);
  }

  /** Remember an applied change, so its other copy is skipped. */
  markApplied(eventId: string): void {
    this.applied.set(eventId, true);
  }

  /**
   * Run `apply` after every change queued before it. An announcement is dropped (undefined, counted)
   * while LIVE_QUEUE_MAX announcements wait: its stream copy applies it. The stream's copies are never
   * dropped; the feed sends them one at a time.
   */
  run<T>(path: ChangePath, apply: () => Promise<T>): Promise<T | undefined> {
    if (path === 'live') {
      if (this.liveWaiting >= (this.o.liveQueueMax ?? LIVE_QUEUE_MAX)) {
        this.liveDropped += 1;
        this.o.onLiveDropped?.();
        return Promise.resolve(undefined);
      }
      this.liveWaiting += 1;
    }
    const done = this.tail.then(() => {
      if (path === 'live') this.liveWaiting -= 1;
      return apply();
    });
    // The next change waits for this one to settle, whatever its outcome.
    this.tail = done.catch(() => undefined);
    return done;
  }
}
