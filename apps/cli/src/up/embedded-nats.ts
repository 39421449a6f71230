// The embedded default's message bus: a local `nats-server -js` whose store lives in the data dir,
// supervised like the services.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Supervisor } from './supervisor.js';

export class NatsMissingError extends Error {
  override name = 'NatsMissingError';
  constructor() {
    super('nats-server is not installed: run `bash scripts/setup.sh` (installs it with apt-get), or set TWOWAY_NATS_URL to an existing NATS server with JetStream');
  }
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

/**
 * Start nats-server on `port`, or on the first free port from 4222 when none is given, as a child of
 * `sup`: killed or crashed, it is restarted like the services, on the same port and store dir, so
 * JetStream finds its streams again and every client reconnects to the same URL. Ready only when this
 * very process says so: another server already on the port must not be mistaken for ours. Its pid is in
 * `$TWOWAY_DATA_DIR/run/nats-server.pid`.
 */
export async function superviseEmbeddedNats(sup: Supervisor, dataDir: string, fixedPort?: number): Promise<{ url: string; storeDir: string }> {
  if (spawnSync('sh', ['-c', 'command -v nats-server']).status !== 0) throw new NatsMissingError();
  let port = fixedPort ?? 4222;
  if (fixedPort === undefined) while (!(await portFree(port))) port += 1;
  const storeDir = join(dataDir, 'nats');
  await mkdir(storeDir, { recursive: true });
  await mkdir(join(dataDir, 'run'), { recursive: true });
  let first: ChildProcess | undefined;
  let said = '';
  const logFile = join(dataDir, 'logs', 'nats-server.log');
  sup.start({
    name: 'nats-server',
    command: 'nats-server',
    args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir],
    env: process.env,
    cwd: dataDir,
    logFile,
    pidFile: join(dataDir, 'run', 'nats-server.pid'),
    onSpawn: (child) => {
      if (first) return;
      first = child;
      const listen = (d: Buffer) => {
        said += d.toString();
        if (said.includes('Server is ready')) {
          child.stdout!.off('data', listen);
          child.stderr!.off('data', listen);
        }
      };
      child.stdout!.on('data', listen);
      child.stderr!.on('data', listen);
    },
  });
  const child = first!;
  const until = Date.now() + 15_000;
  while (!said.includes('Server is ready') || !(await portOpen(port))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nats-server exited (${child.signalCode ?? `code ${child.exitCode}`}); see ${logFile}`);
    if (Date.now() > until) throw new Error('nats-server did not start within 15 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, storeDir };
}
