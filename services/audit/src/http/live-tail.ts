// Fan-out of just-stored events to the Server-Sent Events clients of this process (the console's live
// tail). Fed after each commit, so what a tail shows is in the store; a redelivered event is not
// shown twice.
import type { AuditEvent } from '@twoway/contracts';

const RECENT_IDS = 10_000;

export type TailListener = (e: AuditEvent) => void;

export class LiveTail {
  private readonly listeners = new Set<TailListener>();
  private readonly recent = new Set<string>();

  subscribe(l: TailListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get size(): number {
    return this.listeners.size;
  }

  publish(events: AuditEvent[]): void {
    for (const e of events) {
      if (this.recent.has(e.id)) continue;
      this.recent.add(e.id);
      if (this.recent.size > RECENT_IDS) this.recent.delete(this.recent.values().next().value as string);
      if (this.listeners.size === 0) continue;
      for (const l of this.listeners) l(e);
    }
  }
}
