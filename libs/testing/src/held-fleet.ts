// Devices that hold their sessions and reconnect like devices in the field (held-fleet-worker.ts),
// in a child process of their own: for the scale run, which needs thousands of live sessions and
// measures how fast they come back after a storm, a revocation or a broker restart.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerProcess } from './ipc.js';
import { wallNow } from './lean-mqtt.js';
import type { HeldDevice, HeldStatus } from './held-fleet-worker.js';

export type { HeldDevice, HeldStatus } from './held-fleet-worker.js';

export class HeldFleet extends WorkerProcess {
  private constructor(child: ChildProcess) {
    super(child, 'fleet');
  }

  static start(): HeldFleet {
    // A large heap: ten thousand TLS sessions with their contexts.
    const child = fork(fileURLToPath(new URL('./held-fleet-worker.ts', import.meta.url)), {
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new HeldFleet(child);
  }

  /** Start holding `devices` (connecting `concurrency` at a time); backoff between `minMs` and `maxMs`. */
  hold(devices: HeldDevice[], o: { concurrency?: number; minMs?: number; maxMs?: number } = {}): Promise<{ n: number }> {
    return this.call({ type: 'hold', devices, concurrency: o.concurrency ?? 200, minMs: o.minMs ?? 250, maxMs: o.maxMs ?? 5_000 }, 'holding');
  }

  status(): Promise<HeldStatus> {
    return this.call({ type: 'status' }, 'status');
  }

  /** Every session dropped by the devices at once; they reconnect on their own. */
  drop(): Promise<{ n: number }> {
    return this.call({ type: 'drop' }, 'dropped');
  }

  /**
   * Poll until `cond` holds (every `everyMs`); returns the status and the wall-clock ms at which `up`
   * last changed (the moment the condition became true, to within the poll). Throws with the last
   * status after `timeoutMs`. `progress` sees the status every 5 s meanwhile.
   */
  async until(cond: (s: HeldStatus) => boolean, what: string, timeoutMs: number, everyMs = 50, progress?: (s: HeldStatus) => void): Promise<HeldStatus> {
    const end = wallNow() + timeoutMs;
    let reported = wallNow();
    for (;;) {
      const s = await this.status();
      if (cond(s)) return s;
      if (progress && wallNow() - reported > 5_000) {
        reported = wallNow();
        progress(s);
      }
      if (wallNow() > end) throw new Error(`fleet: ${what} not reached within ${timeoutMs} ms: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
