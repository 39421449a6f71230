// The `twoway` command against the real system (gateway and services from `twoway up`), run as an
// operator runs it: accounts, certificates, credentials and tokens named by name or id prefix, the
// token read from a file, and `twoway audit export` with search filters, to a pipe and to a file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { System, makeTestPki, runToEnd, waitFor } from '@twoway/testing';

const bin = resolve(fileURLToPath(new URL('../../apps/cli/bin/twoway.mjs', import.meta.url)));

describe('twoway CLI against a real gateway', { timeout: 240_000 }, () => {
  let sys: System;
  let dir: string;
  let env: Record<string, string>;

  /** `twoway ARGS` as a child process, as an operator runs it. */
  const twoway = async (args: string[], extra: Record<string, string> = {}) => {
    const r = await runToEnd(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, NODE_TEST_CONTEXT: '', ...env, ...extra } });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  const ok = async (args: string[], extra?: Record<string, string>) => {
    const r = await twoway(args, extra);
    assert.equal(r.code, 0, `twoway ${args.join(' ')} → ${r.code}\n${r.err}`);
    return r.out;
  };

  before(async () => {
    sys = await System.start();
    dir = await mkdtemp(join(tmpdir(), 'twoway-cli-e2e-'));
    // The token from a file, as an operator keeps it; no TWOWAY_TOKEN, and nothing under ./data here.
    await writeFile(join(dir, 'token'), `${sys.token}\n`, { mode: 0o600 });
    env = { TWOWAY_URL: sys.apiUrl, TWOWAY_TOKEN: '', TWOWAY_TOKEN_FILE: join(dir, 'token'), TWOWAY_DATA_DIR: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  });
  after(async () => {
    await sys?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names accounts, certificates, credentials and tokens by name and by id prefix', async () => {
    const created = JSON.parse(await ok(['accounts', 'create', '--name', 'cli-berlin', '--json'])) as { id: string };
    const shown = JSON.parse(await ok(['accounts', 'show', 'cli-berlin', '--json'])) as { id: string };
    assert.equal(shown.id, created.id);

    const pki = await makeTestPki({ fresh: true });
    await writeFile(join(dir, 'root.pem'), pki.root.certPem);
    const cert = JSON.parse(await ok(['certs', 'add', 'root.pem', '--name', 'Fleet root', '--account', 'cli-berlin', '--json'])) as { id: string };
    assert.match(await ok(['certs', 'suspend', 'Fleet root', '--account', created.id.slice(0, 8)]), new RegExp(`suspended Fleet root \\(${cert.id}, root\\): status SUSPENDED`));
    const byPrefix = JSON.parse(await ok(['certs', 'show', cert.id.slice(0, 13), '--account', 'cli-berlin', '--json'])) as { id: string; status: string };
    assert.deepEqual([byPrefix.id, byPrefix.status], [cert.id, 'SUSPENDED']);

    await ok(['credentials', 'add', '--username', 'cli-dev-1', '--account', 'cli-berlin']);
    assert.match(await ok(['credentials', 'disable', 'cli-dev-1', '--account', 'cli-berlin']), /^disabled cli-dev-1 \(/);
    const listed = await sys.api<{ items: { username: string; enabled: boolean }[] }>('GET', `/api/v1/accounts/${created.id}/credentials`);
    assert.deepEqual(listed.body.items.map((c) => [c.username, c.enabled]), [['cli-dev-1', false]]);

    const tok = JSON.parse(await ok(['tokens', 'create', '--name', 'cli-ci', '--role', 'operator', '--account', 'cli-berlin', '--json'])) as { id: string };
    assert.equal(await ok(['tokens', 'revoke', 'cli-ci', '--account', 'cli-berlin']), `revoked ${tok.id}\n`);

    // The same name at two levels of the tree: ambiguous, with both candidates, nothing done.
    await ok(['accounts', 'create', '--name', 'cli-plant']);
    await ok(['accounts', 'create', '--name', 'cli-plant', '--parent', 'cli-berlin']);
    const amb = await twoway(['accounts', 'show', 'cli-plant']);
    assert.equal(amb.code, 2);
    assert.match(amb.err, /'cli-plant' is ambiguous: 2 accounts match\n {4}ID +NAME +PARENT ID\n/);
    assert.ok(amb.err.includes(created.id), 'the candidate under cli-berlin names its parent');
    const none = await twoway(['certs', 'rm', 'no-such-cert', '--account', 'cli-berlin']);
    assert.equal(none.code, 1);
    assert.match(none.err, /no certificate 'no-such-cert': it is neither an id, an id prefix nor a name/);
  });

  it('exports the audit trail with the search filters, to a pipe and to a file', async () => {
    // The audit store fills asynchronously: wait for the changes of the first test.
    const ndjson = await waitFor(
      async () => {
        const r = await ok(['audit', 'export', '--account', 'cli-berlin', '--type', 'cert.*']);
        return r.includes('"cert.status_changed"') ? r : undefined;
      },
      { timeoutMs: 20_000, everyMs: 500, what: 'cert events in the audit store' },
    );
    const types = ndjson.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type).sort();
    assert.deepEqual(types, ['cert.added', 'cert.status_changed']);

    const byUser = await waitFor(
      async () => {
        const r = await ok(['audit', 'export', '--account', 'cli-berlin', '--username', 'cli-dev-1', '--format', 'csv', '-o', 'dev.csv', '--force']);
        const text = await readFile(join(dir, 'dev.csv'), 'utf8');
        return text.includes('credential.changed') ? { r, text } : undefined;
      },
      { timeoutMs: 20_000, everyMs: 500, what: 'credential events in the audit store' },
    );
    const rows = byUser.text.trim().split(/\r?\n/);
    assert.match(rows[0]!, /^id,time,type,/);
    assert.deepEqual(rows.slice(1).map((r) => r.split(',')[2]).sort(), ['credential.added', 'credential.changed']);

    // From the provider: --subtree reaches the events of cli-berlin too.
    const subtree = await ok(['audit', 'export', '--subtree', '--type', 'token.*']);
    assert.ok(subtree.includes('"token.revoked"') && subtree.includes('"cli-ci"'));
  });

  it('says which token file it read when that token is refused', async () => {
    await writeFile(join(dir, 'stale'), 'tw_0123456789abcdef01234567_notarealsecretnotarealsecretnotarealsecr', { mode: 0o600 });
    const r = await twoway(['certs', 'ls'], { TWOWAY_TOKEN_FILE: join(dir, 'stale') });
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(`→ the token from ${join(dir, 'stale')} was refused`), r.err);
  });
});
