// Request and answer over a forked child's IPC channel (the fleets' worker processes): send `msg`,
// resolve with the first message of type `answer`, reject on a `failed` message or the child's exit.
import type { ChildProcess } from 'node:child_process';

export function ipcCall<T>(child: ChildProcess, msg: object, answer: string, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${what} process exited (${code})`));
    const on = (m: { type: string; message?: string }) => {
      if (m.type !== answer && m.type !== 'failed') return;
      child.off('message', on);
      child.off('exit', onExit);
      if (m.type === 'failed') reject(new Error(`${what}: ${m.message}`));
      else resolve(m as T);
    };
    child.on('message', on);
    child.once('exit', onExit);
    child.send(msg);
  });
}

/** End a forked worker: disconnecting its channel makes it close what it holds and exit. */
export async function ipcDisconnect(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.connected) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.disconnect();
  await exited;
}
