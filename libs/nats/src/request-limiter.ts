// Bounded work for a request handler: at most `maxConcurrent` requests run at once, at most
// `maxQueued` wait in arrival order, and the rest are shed at once (the caller replies OVERLOADED).
// Without it every request runs at once: a flood of distinct credentials queues unbounded scrypt work
// in account-settings, and every answer arrives after its requester gave up. A request that waited
// longer than `maxQueueWaitMs` is shed when its turn comes, for the same reason. Time is passed in.

export interface RequestLimits {
  /** Requests running at once (per subject served). */
  maxConcurrent: number;
  /** Requests waiting for a slot; beyond it a request is shed on arrival. 0: none wait. */
  maxQueued: number;
  /** A queued request older than this when its turn comes is shed instead of run (its requester has given up). */
  maxQueueWaitMs?: number;
}

export type Admission = 'run' | 'queued' | 'shed';

interface Waiting<T> {
  job: T;
  atMs: number;
}

export class RequestLimiter<T> {
  private running = 0;
  /** FIFO ring: `head` is the next to run. */
  private queue: (Waiting<T> | undefined)[] = [];
  private head = 0;
  /** Requests refused on arrival (queue full) or when their turn came (waited too long). */
  shed = 0;

  constructor(
    private readonly limits: RequestLimits,
    /** Runs a job; must call `done()` exactly once when it finishes. */
    private readonly run: (job: T) => void,
    /** Answers a job that will not run (OVERLOADED). */
    private readonly refuse: (job: T) => void,
  ) {
    if (limits.maxConcurrent < 1) throw new RangeError('maxConcurrent must be at least 1');
  }

  get inFlight(): number {
    return this.running;
  }
  get queued(): number {
    return this.queue.length - this.head;
  }

  offer(job: T, nowMs: number): Admission {
    if (this.running < this.limits.maxConcurrent) {
      this.running += 1;
      this.run(job);
      return 'run';
    }
    if (this.queued >= this.limits.maxQueued) {
      this.shed += 1;
      this.refuse(job);
      return 'shed';
    }
    this.queue.push({ job, atMs: nowMs });
    return 'queued';
  }

  /** A running job finished: start the next waiting one that is still worth running. */
  done(nowMs: number): void {
    this.running -= 1;
    while (this.running < this.limits.maxConcurrent && this.queued > 0) {
      const w = this.queue[this.head]!;
      this.queue[this.head] = undefined;
      this.head += 1;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (this.limits.maxQueueWaitMs !== undefined && nowMs - w.atMs > this.limits.maxQueueWaitMs) {
        this.shed += 1;
        this.refuse(w.job);
        continue;
      }
      this.running += 1;
      this.run(w.job);
    }
  }
}
