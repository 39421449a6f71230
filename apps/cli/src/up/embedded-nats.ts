// The embedded default's message bus: a local `nats-server -js` whose store lives in the data dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

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
 * Start nats-server on `port`, or on the first free port from 4222 when none is given. Ready only
 * when this very process says so: another server already on the port must not be mistaken for ours.
 */
export async function startEmbeddedNats(dataDir: string, fixedPort?: number): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  if (spawnSync('sh', ['-c', 'command -v nats-server']).status !== 0) throw new NatsMissingError();
  let port = fixedPort ?? 4222;
  if (fixedPort === undefined) while (!(await portFree(port))) port += 1;
  const store = join(dataDir, 'nats');
  await mkdir(store, { recursive: true });
  const log = createWriteStream(join(dataDir, 'logs', 'nats-server.log'), { flags: 'a' });
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  let said = '';
  const listen = (d: Buffer) => (said += d.toString());
  child.stdout!.on('data', listen);
  child.stderr!.on('data', listen);
  const until = Date.now() + 15_000;
  while (!said.includes('Server is ready') || !(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (code ${child.exitCode}); see ${join(dataDir, 'logs', 'nats-server.log')}`);
    if (Date.now() > until) throw new Error('nats-server did not start within 15 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.stdout!.off('data', listen);
  child.stderr!.off('data', listen);
  let stopping: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    child,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      })),
  };
}
