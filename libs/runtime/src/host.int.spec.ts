// Several services in one process (host.ts), run as a real child process: each service reads its own
// settings, a signal stops them in reverse order with the graceful phase on SIGTERM, and one service
// failing stops the others and exits 1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OwnedProcess, waitFor } from '@twoway/testing';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * A host of services `a` and `b` whose start prints its port; `b` fails at start with FAIL_B, or reports
 * a fatal error after starting with FATAL_B. Written next to this file (a dot file) so that it resolves
 * the workspace packages.
 */
const script = () => `
import { runHost, runService } from ${JSON.stringify(join(here, 'index.ts'))};
import { setting } from '@twoway/config';
const schema = { port: setting({ env: 'TWOWAY_HTTP_PORT', kind: 'int', default: 0, min: 0, doc: 'port' }), fail: setting({ env: 'FAIL', kind: 'bool', default: false, doc: 'fail' }) };
const service = (name) => () => runService({
  name, schema,
  start: async (cfg, deps) => {
    if (cfg.fail) throw new Error(name + ' cannot start');
    console.log(name + ' started on ' + cfg.port);
    if (name === 'b' && process.env.FATAL_B) setTimeout(() => deps.fatal(new Error('lost its database')), 200);
    const alive = setInterval(() => undefined, 1000); // as a server would keep the process running
    return { drain: async () => console.log(name + ' drained'), stop: async () => { clearInterval(alive); console.log(name + ' stopped'); } };
  },
});
await runHost([
  { name: 'a', env: { TWOWAY_HTTP_PORT: '1111', TWOWAY_LOG_LEVEL: 'silent' }, load: service('a') },
  { name: 'b', env: { TWOWAY_HTTP_PORT: '2222', TWOWAY_LOG_LEVEL: 'silent', ...(process.env.FAIL_B ? { FAIL: 'true' } : {}) }, load: service('b') },
]);
console.log('all started');
`;

async function host(env: Record<string, string> = {}) {
  const file = join(here, `.host-test-${process.pid}-${Math.random().toString(36).slice(2)}.mts`);
  await writeFile(file, script());
  const p = OwnedProcess.spawn('host', process.execPath, ['--import', 'tsx', file], { cwd: here, env: { ...process.env, ...env } });
  // Its exit code once its output is all read ('close', not 'exit': the last lines may still be in the pipe).
  const closed = new Promise<number | null>((r) => p.child.once('close', (code) => r(code)));
  return {
    p,
    closed,
    async [Symbol.asyncDispose]() {
      await p.stop();
      await rm(file, { force: true });
    },
  };
}

/** What the services printed (not the JSON log lines). */
const lines = (log: string) => log.split('\n').map((l) => l.trim()).filter((l) => !l.startsWith('{') && /started|stopped|drained|did not start/.test(l));

describe('several services in one process', () => {
  it('each service reads its own settings; SIGTERM drains and stops them in reverse order, exit 0', async () => {
    await using h = await host();
    await waitFor(() => h.p.log.includes('all started'), { what: 'both started', timeoutMs: 30_000 });
    h.p.child.kill('SIGTERM');
    const code = await h.closed;
    assert.equal(code, 0);
    assert.deepEqual(lines(h.p.log), ['a started on 1111', 'b started on 2222', 'all started', 'b drained', 'b stopped', 'a drained', 'a stopped']);
  });

  it('a service that cannot start stops the ones started before it, exit 1', async () => {
    await using h = await host({ FAIL_B: '1' });
    const code = await h.closed;
    assert.equal(code, 1);
    // stderr and stdout are two pipes: their lines interleave in any order.
    assert.deepEqual(lines(h.p.log).sort(), ['a started on 1111', 'a stopped', 'b did not start: b cannot start']);
  });

  it('a service that reports a fatal error stops every service, exit 1', async () => {
    await using h = await host({ FATAL_B: '1' });
    const code = await h.closed;
    assert.equal(code, 1);
    assert.deepEqual(lines(h.p.log), ['a started on 1111', 'b started on 2222', 'all started', 'b stopped', 'a stopped']);
  });
});
