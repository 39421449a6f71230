// Notices a follower of a JetStream stream (the change feed, a KV mirror) that is behind its stream
// without making progress: a consumer can stop delivering without ending and without missed heartbeats
// (seen on a 3-node cluster after a node kill, for minutes, with every readiness check green). Every
// `everyMs` it compares the stream's last sequence with the follower's; behind for `stuckAfterMs` with
// no progress, it calls `onStuck` (the follower opens a new consumer after what it applied).

export const STALL_CHECK_MS = 1_000;
export const STALL_AFTER_MS = 3_000;

export interface StallWatchOptions {
  /** The stream's last sequence (a JetStream API request). */
  last(): Promise<number>;
  /** The last sequence the follower applied. */
  applied(): number;
  /** Not checked meanwhile (stopped, restarting, or blocked on a change it retries). */
  paused(): boolean;
  onStuck(info: { applied: number; last: number; behindMs: number }): Promise<void> | void;
  everyMs?: number;
  stuckAfterMs?: number;
}

export class StallWatch {
  private timer?: NodeJS.Timeout;
  private checking = false;
  /** When the follower was first seen behind with no progress since (0: not behind). */
  private behindSince = 0;
  private seenApplied = -1;
  /** Times `onStuck` was called. */
  stalls = 0;

  constructor(private readonly o: StallWatchOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.everyMs ?? STALL_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking || this.o.paused()) return;
    this.checking = true;
    try {
      const last = await this.o.last();
      const applied = this.o.applied();
      const now = Date.now();
      if (last <= applied || applied !== this.seenApplied) {
        // Caught up, or making progress (a large change takes a while to apply).
        this.behindSince = last <= applied ? 0 : now;
        this.seenApplied = applied;
        return;
      }
      if (!this.behindSince) {
        this.behindSince = now;
        return;
      }
      if (now - this.behindSince < (this.o.stuckAfterMs ?? STALL_AFTER_MS)) return;
      const behindMs = now - this.behindSince;
      this.behindSince = 0;
      this.stalls += 1;
      await this.o.onStuck({ applied, last, behindMs });
    } catch {
      /* no stream info (no leader, NATS away): nothing to compare; the next check tries again */
    } finally {
      this.checking = false;
    }
  }
}
