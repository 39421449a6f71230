// A throwaway PostgreSQL cluster (initdb + postgres) on a free loopback port, for the persistence tests.
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { OwnedProcess, MissingBinaryError } from './process.js';
import { freePort, waitFor } from './ports.js';

function findBin(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/lib/postgresql/*/bin/${name} 2>/dev/null | tail -n1`], { encoding: 'utf8' });
  const p = r.stdout.trim().split('\n').pop();
  return p || undefined;
}

export class Postgres {
  private constructor(readonly proc: OwnedProcess, readonly port: number, private readonly dir: string) {}

  /** URL of a fresh database created for the caller. */
  url(db = 'postgres'): string {
    return `postgres://twoway@127.0.0.1:${this.port}/${db}`;
  }

  async createDatabase(name: string): Promise<string> {
    const psql = findBin('psql');
    if (!psql) throw new MissingBinaryError('psql', 'install postgresql-client');
    execFileSync(psql, ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'twoway', '-d', 'postgres', '-c', `CREATE DATABASE "${name}"`], { stdio: 'ignore' });
    return this.url(name);
  }

  static async start(): Promise<Postgres> {
    const initdb = findBin('initdb');
    const postgres = findBin('postgres');
    if (!initdb || !postgres) throw new MissingBinaryError('initdb/postgres', 'install PostgreSQL 15 server binaries (apt-get install postgresql)');
    const dir = await mkdtemp(join(tmpdir(), 'twoway-pg-'));
    const asRoot = userInfo().uid === 0;
    // PostgreSQL refuses to run as root: run as the `postgres` (or `nobody`) user when we are root.
    const runAs = asRoot ? (spawnSync('id', ['-u', 'postgres']).status === 0 ? 'postgres' : 'nobody') : undefined;
    const wrap = (cmd: string, args: string[]): [string, string[]] =>
      runAs ? ['runuser', ['-u', runAs, '--', cmd, ...args]] : [cmd, args];
    if (runAs) execFileSync('chown', [runAs, dir]);
    await chmod(dir, 0o700);
    const data = join(dir, 'data');
    const [c1, a1] = wrap(initdb, ['-D', data, '-U', 'twoway', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    execFileSync(c1, a1, { stdio: 'ignore' });
    const port = await freePort();
    const [c2, a2] = wrap(postgres, ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-F', '-c', 'fsync=off', '-c', 'full_page_writes=off']);
    const proc = OwnedProcess.spawn('postgres', c2, a2);
    const pg = new Postgres(proc, port, dir);
    const isready = findBin('pg_isready');
    try {
      await waitFor(() => {
        if (!proc.running) throw new Error(`postgres exited early:\n${proc.log}`);
        return spawnSync(isready ?? 'pg_isready', ['-h', '127.0.0.1', '-p', String(port)]).status === 0;
      }, { timeoutMs: 20_000, what: 'postgres to accept connections' });
    } catch (e) {
      await pg.stop();
      throw e;
    }
    return pg;
  }

  async stop(): Promise<void> {
    // SIGINT is PostgreSQL's "fast shutdown"; the OwnedProcess sends SIGTERM ("smart") otherwise.
    if (this.proc.running) this.proc.child.kill('SIGINT');
    await this.proc.stop(10_000);
    await rm(this.dir, { recursive: true, force: true });
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
