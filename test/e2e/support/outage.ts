// A NATS outage under `twoway up`, for end-to-end tests: `up` is paused (SIGSTOP) so it cannot restart
// nats-server yet, nats-server is killed, and the returned `resume` lets `up` restart it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor, type System } from '@twoway/testing';

/** The pid `twoway up` wrote for one of its children. */
export async function pidOf(sys: System, name: string): Promise<number> {
  return Number((await readFile(join(sys.dataDir, 'run', `${name}.pid`), 'utf8')).trim());
}

/** The HTTP status of a GET, 0 when nothing answers. */
export async function httpStatus(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 0;
  }
}

/** Stop NATS until `resume()` (also registered with `t.after`, so a failed test never leaves `up` paused). */
export async function natsOutage(sys: System, t: { after(f: () => void): void }): Promise<() => void> {
  const upPid = sys.proc.child.pid!;
  process.kill(upPid, 'SIGSTOP');
  let paused = true;
  const resume = () => {
    if (paused) process.kill(upPid, 'SIGCONT');
    paused = false;
  };
  t.after(resume);
  process.kill(await pidOf(sys, 'nats-server'), 'SIGKILL');
  await waitFor(async () => (await httpStatus(`${sys.brokerHttpUrl}/readyz`)) === 503, { timeoutMs: 15_000, what: 'the broker to see NATS gone' });
  return resume;
}
