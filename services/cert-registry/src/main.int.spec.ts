// main.ts as its own process, the way `twoway up` and Kubernetes run it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsServer, OwnedProcess, freePort, tempDir, waitFor } from '@twoway/testing';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('cert-registry main.ts', () => {
  let nats: NatsServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
    nats = await NatsServer.start();
  });
  after(async () => {
    await nats?.stop();
    await dir?.[Symbol.asyncDispose]();
  });

  it('starts alone on SQLite under TWOWAY_DATA_DIR, becomes ready, and exits 0 on SIGTERM', async (t) => {
    const port = await freePort();
    const proc = OwnedProcess.spawn('cert-registry', process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, TWOWAY_NATS_URL: nats.url, TWOWAY_DATA_DIR: dir.path, TWOWAY_HTTP_PORT: String(port), TWOWAY_DB_URL: '' },
    });
    t.after(() => proc.stop());
    await waitFor(async () => {
      if (!proc.running) throw new Error(`exited early:\n${proc.log}`);
      return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
    }, { timeoutMs: 20_000, what: 'cert-registry /readyz' });
    assert.ok(existsSync(join(dir.path, 'cert-registry.sqlite')));
    proc.child.kill('SIGTERM');
    assert.equal(await proc.waitExit(), 0, proc.log);
  });

  it('reports every configuration problem and exits 1', async (t) => {
    const proc = OwnedProcess.spawn('cert-registry', process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, TWOWAY_HTTP_PORT: 'eighty', TWOWAY_NATS_REQUEST_TIMEOUT_MS: '1' },
    });
    t.after(() => proc.stop());
    assert.equal(await proc.waitExit(), 1);
    assert.match(proc.log, /TWOWAY_HTTP_PORT must be an integer/);
    assert.match(proc.log, /TWOWAY_NATS_REQUEST_TIMEOUT_MS must be >= 50/);
  });
});
