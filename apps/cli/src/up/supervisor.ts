// Runs the system's processes and keeps them running: a child that dies is restarted with
// exponential backoff (the restart is logged), the same command, arguments and environment again;
// stop() ends them in reverse start order. Each child's current pid is in its pid file, if given.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync, writeFileSync, type WriteStream } from 'node:fs';

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  /** Rewritten with the pid at every (re)start, removed at stop: an operator or a test finds the process. */
  pidFile?: string;
  /** Called with each new process, e.g. to watch its first output for readiness. */
  onSpawn?: (child: ChildProcess) => void;
}

interface Running {
  spec: ChildSpec;
  child?: ChildProcess;
  restarts: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
  out: WriteStream;
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;
/** A child that stayed up this long is considered healthy again: its backoff resets. */
export const HEALTHY_AFTER_MS = 60_000;

export function backoffMs(restarts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, restarts - 1));
}

export class Supervisor {
  private readonly children: Running[] = [];
  private stopping?: Promise<void>;

  constructor(private readonly say: (line: string) => void) {}

  start(spec: ChildSpec): void {
    const r: Running = { spec, restarts: 0, startedAt: 0, out: createWriteStream(spec.logFile, { flags: 'a' }) };
    this.children.push(r);
    this.launch(r);
  }

  pid(name: string): number | undefined {
    return this.children.find((c) => c.spec.name === name)?.child?.pid;
  }

  private launch(r: Running): void {
    r.startedAt = Date.now();
    const child = spawn(r.spec.command, r.spec.args, { cwd: r.spec.cwd, env: r.spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    r.child = child;
    if (r.spec.pidFile && child.pid !== undefined) writeFileSync(r.spec.pidFile, `${child.pid}\n`);
    r.spec.onSpawn?.(child);
    child.stdout!.pipe(r.out, { end: false });
    child.stderr!.pipe(r.out, { end: false });
    child.once('exit', (code, signal) => {
      r.child = undefined;
      if (this.stopping) return;
      if (Date.now() - r.startedAt > HEALTHY_AFTER_MS) r.restarts = 0;
      r.restarts += 1;
      const delay = backoffMs(r.restarts);
      this.say(`! ${r.spec.name} exited (${signal ?? `code ${code}`}); restart #${r.restarts} in ${delay} ms — see ${r.spec.logFile}`);
      r.timer = setTimeout(() => this.launch(r), delay);
    });
  }

  /** SIGTERM each child, newest first, SIGKILL after `graceMs`. Same promise when called twice. */
  stop(graceMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      for (const r of [...this.children].reverse()) {
        if (r.timer) clearTimeout(r.timer);
        const c = r.child;
        if (c && c.exitCode === null && c.signalCode === null) {
          const exited = new Promise<void>((res) => c.once('exit', () => res()));
          c.kill('SIGTERM');
          const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(t);
        }
        r.out.end();
        if (r.spec.pidFile) rmSync(r.spec.pidFile, { force: true });
      }
    })();
    return this.stopping;
  }
}
