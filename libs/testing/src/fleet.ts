// A fleet of live device sessions in a child process (fleet-worker.ts), for benchmarks that need
// hundreds of sessions without the benchmark's own process being the bottleneck it measures.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerProcess } from './ipc.js';
import type { LeanDevice } from './lean-mqtt.js';

export interface FleetClosed {
  /** Wall-clock ms at which each closed session saw the server's FIN (only meaningful with `watch`). */
  times: number[];
  /** Sessions still open when `collect` gave up. */
  open: number;
}

export class Fleet extends WorkerProcess {
  private constructor(child: ChildProcess) {
    super(child, 'fleet');
  }

  static start(): Fleet {
    const child = fork(fileURLToPath(new URL('./fleet-worker.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Fleet(child);
  }

  /**
   * Connect every device (`batch` at a time); rejects if any is refused. With `watch: false` the
   * sessions do not read until `collect`, so the fleet costs no CPU while the server closes them.
   */
  open(devices: LeanDevice[], o: { batch?: number; watch: boolean }): Promise<{ n: number }> {
    return this.call({ type: 'open', devices, batch: o.batch ?? 25, watch: o.watch }, 'opened');
  }

  /** Wait (at most `timeoutMs`) until the server has closed every session. */
  collect(timeoutMs: number): Promise<FleetClosed> {
    return this.call({ type: 'collect', timeoutMs }, 'closed');
  }
}
