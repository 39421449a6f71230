// A child process that a test owns: spawned, watched for early exit, stopped by PID (idempotent).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
  constructor(readonly binary: string, hint: string) {
    super(`${binary} not found on PATH: ${hint}`);
  }
}

/**
 * Every child still running, ended with SIGKILL when this process exits or is told to stop: a test
 * file the runner times out, or a benchmark ended with SIGTERM, must not leave its servers behind.
 */
const live = new Set<ChildProcess>();
let hooked = false;
function endAll(): void {
  for (const c of live) {
    if (!c.pid) continue;
    // A detached child leads its own process group (`twoway up` and its services): end the group.
    for (const target of [-c.pid, c.pid]) {
      try {
        process.kill(target, 'SIGKILL');
        break;
      } catch {
        /* not a group leader, or already gone */
      }
    }
  }
  live.clear();
}
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', endAll);
  // Only where nobody else handles the signal (scripts with their own handler stop their children).
  if (process.listenerCount('SIGTERM') === 0) {
    process.once('SIGTERM', () => {
      endAll();
      process.exit(143);
    });
  }
}

export class OwnedProcess {
  readonly output: string[] = [];
  private exited?: Promise<number | null>;
  private stopping?: Promise<void>;
  exitCode: number | null | undefined;

  constructor(readonly name: string, readonly child: ChildProcess) {
    live.add(child);
    hookExit();
    this.exited = new Promise((resolve) => child.once('exit', (code) => { live.delete(child); this.exitCode = code; resolve(code); }));
    const keep = (d: Buffer) => {
      this.output.push(d.toString());
      if (this.output.length > 2000) this.output.splice(0, 1000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): OwnedProcess {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    return new OwnedProcess(name, child);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }
  get log(): string {
    return this.output.join('');
  }
  waitExit(): Promise<number | null> {
    return this.exited!;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Same promise when called twice. */
  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.running) return;
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    })();
    return this.stopping;
  }
  kill9(): Promise<number | null> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited!;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Runs a command to its end and keeps what it printed, stdout and stderr apart (a CLI's answer). */
export function runToEnd(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
