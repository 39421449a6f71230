// A forked worker process (the fleets' device processes) spoken to over its IPC channel: a request is
// answered by the first message of the expected type; a `failed` message or the child's exit rejects it.
import type { ChildProcess } from 'node:child_process';

export abstract class WorkerProcess {
  protected constructor(protected readonly child: ChildProcess, private readonly what: string) {}

  get pid(): number {
    return this.child.pid!;
  }

  protected call<T>(msg: object, answer: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${this.what} process exited (${code})`));
      const on = (m: { type: string; message?: string }) => {
        if (m.type !== answer && m.type !== 'failed') return;
        this.child.off('message', on);
        this.child.off('exit', onExit);
        if (m.type === 'failed') reject(new Error(`${this.what}: ${m.message}`));
        else resolve(m as T);
      };
      this.child.on('message', on);
      this.child.once('exit', onExit);
      this.child.send(msg);
    });
  }

  /** Close whatever the worker still holds. */
  async end(): Promise<void> {
    await this.call({ type: 'end' }, 'ended');
  }

  /** End the worker: disconnecting its channel makes it close what it holds and exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.disconnect();
    await exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
