// Graceful drain of a replica (SIGTERM, a rolling restart, a scale-down): the listeners have stopped
// accepting; the live sessions are then ended gradually over a window instead of all at once, so a
// rolling restart of N replicas is not N reconnect storms. Each device reconnects through the load
// balancer to a replica that is still accepting.
//
// Wills: a drained device is not dead, so its will is not published here. It stays in the shared
// persistence under this replica's id: a device that reconnects within the dead-replica bound replaces
// it ([MQTT-3.1.2-8] does not apply to a session that continues elsewhere); one that does not come
// back has it published by a surviving replica once this one is gone (see cluster/).
import { ConnectReasons } from '@twoway/contracts';
import { endSession, type KickDeps } from '../revocation/kick.js';
import type { Session } from './session-registry.js';

export interface DrainOptions {
  /** The window over which the sessions present at the start are spread. */
  windowMs: number;
  /** Least sessions ended per tick, so that a handful of sessions does not take the whole window. */
  minPerTick?: number;
  tickMs?: number;
  /** Stop early (a second signal, or the caller gave up). */
  signal?: AbortSignal;
}

const DEFAULT_TICK_MS = 100;
const DEFAULT_MIN_PER_TICK = 5;

/** Ends every live session; resolves once none is left (or `signal` aborts). Returns how many it ended. */
export async function drainSessions(d: KickDeps, o: DrainOptions): Promise<number> {
  const tickMs = o.tickMs ?? DEFAULT_TICK_MS;
  const start = d.sessions.size;
  const perTick = Math.max(o.minPerTick ?? DEFAULT_MIN_PER_TICK, Math.ceil((start * tickMs) / Math.max(o.windowMs, 1)));
  let ended = 0;
  for (;;) {
    if (o.signal?.aborted) return ended;
    // Oldest first would need an order the registry does not keep; any order is fair here.
    const batch = d.sessions.all().slice(0, perTick);
    if (batch.length === 0) return ended;
    for (const s of batch) ended += endOne(s, d);
    if (d.sessions.size === 0) return ended;
    await new Promise((r) => setTimeout(r, tickMs));
  }
}

function endOne(s: Session, d: KickDeps): number {
  if (s.ending) return 0;
  // Neither published nor deleted by aedes' close: the will stays stored (see above).
  (s.client as unknown as { will: unknown }).will = null;
  endSession(s, ConnectReasons.BROKER_DRAINING, {}, d);
  return 1;
}
