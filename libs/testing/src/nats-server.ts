// A real `nats-server -js` on a free loopback port, its store in a temp dir, for integration tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { execFileSync } from 'node:child_process';
import { OwnedProcess, MissingBinaryError } from './process.js';
import { freePort, waitFor } from './ports.js';

function which(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });

export function requireNatsServer(): void {
  if (!which('nats-server')) throw new MissingBinaryError('nats-server', 'install it with `apt-get install nats-server` (scripts/setup.sh does)');
}

export class NatsServer {
  private constructor(readonly proc: OwnedProcess, readonly port: number, readonly storeDir: string, private readonly ownsDir: boolean) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(opts: { port?: number; storeDir?: string } = {}): Promise<NatsServer> {
    requireNatsServer();
    const port = opts.port ?? (await freePort());
    const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'twoway-nats-')));
    const proc = OwnedProcess.spawn('nats-server', 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir]);
    const server = new NatsServer(proc, port, storeDir, !opts.storeDir);
    try {
      await waitFor(async () => {
        if (!proc.running) throw new Error(`nats-server exited early:\n${proc.log}`);
        return portOpen(port);
      }, { timeoutMs: 10_000, what: 'nats-server to listen' });
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  /** Stop (for outage tests) and start again on the same port and store. */
  async restart(): Promise<NatsServer> {
    await this.proc.stop();
    return NatsServer.start({ port: this.port, storeDir: this.storeDir });
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    if (this.ownsDir) await rm(this.storeDir, { recursive: true, force: true });
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
