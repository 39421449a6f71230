// The production build as the image runs it, reduced to what CI affords: cert-registry and the CLI
// bundled by scripts/build.mjs into a directory outside the repository, next to only the node_modules
// the runtime image gets (scripts/stage-runtime.mjs), then run by plain node — no TypeScript loader, no
// workspace sources, no dev dependencies within reach. The other services share the build and are
// covered by `TWOWAY_TEST_ENTRY=dist npm test -- test/e2e` after `npm run build`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatsServer, OwnedProcess, Postgres, freePort, tempDir, waitFor } from '@twoway/testing';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Run a repository script to its end; its output is the failure message. */
async function script(args: string[]): Promise<string> {
  const p = OwnedProcess.spawn(args[0]!, process.execPath, args, { cwd: repoRoot });
  const code = await p.waitExit();
  assert.equal(code, 0, `${args.join(' ')} exited ${code}:\n${p.log}`);
  return p.log;
}

/** The environment of a bundled process: nothing from this test runner (no loader, no NODE_OPTIONS). */
const bundleEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, TWOWAY_LOG_LEVEL: 'info', ...extra });

describe('production build: bundled cert-registry and CLI with the runtime node_modules only', { timeout: 120_000 }, () => {
  let out: Awaited<ReturnType<typeof tempDir>>;
  let nats: NatsServer;
  let pg: Postgres;
  let main: string;

  before(async () => {
    out = await tempDir('twoway-build-');
    nats = await NatsServer.start();
    pg = await Postgres.start();
    const built = await script(['scripts/build.mjs', '--out-root', out.path, 'cert-registry', 'cli']);
    assert.match(built, /cert-registry\s+services\/cert-registry\/dist\/main\.js/);
    await script(['scripts/stage-runtime.mjs', '--node-modules-only', out.path]);
    main = join(out.path, 'services/cert-registry/dist/main.js');
  });
  after(async () => {
    await nats?.stop();
    await pg?.stop();
    await out?.[Symbol.asyncDispose]();
  });

  /** Start the bundle on `db` (a TWOWAY_DB_URL, '' for SQLite under the data dir); resolves when /readyz is 200. */
  async function startBundle(t: { after(fn: () => Promise<void>): void }, db: string, env: Record<string, string> = {}) {
    const port = await freePort();
    const dataDir = join(out.path, `data-${port}`);
    const proc = OwnedProcess.spawn('cert-registry bundle', process.execPath, [main], {
      cwd: out.path,
      env: bundleEnv({ TWOWAY_NATS_URL: nats.url, TWOWAY_DATA_DIR: dataDir, TWOWAY_HTTP_PORT: String(port), TWOWAY_DB_URL: db, ...env }),
    });
    t.after(() => proc.stop());
    const url = `http://127.0.0.1:${port}`;
    // An early exit fails at once, with the process's output.
    const exited = proc.waitExit().then((code) => {
      throw new Error(`the bundle exited ${code} before it was ready:\n${proc.log}`);
    });
    const ready = await Promise.race([
      exited,
      waitFor(async () => {
        const r = await fetch(`${url}/readyz`).catch(() => undefined);
        return r?.status === 200 ? ((await r.json()) as unknown) : undefined;
      }, { timeoutMs: 30_000, everyMs: 50, what: 'cert-registry bundle /readyz' }),
    ]);
    exited.catch(() => undefined); // settled later by the stop at the end of the test
    return { proc, url, dataDir, ready };
  }

  it('starts on SQLite: NATS, database and outbox ready, pino JSON logs, exit 0 on SIGTERM', async (t) => {
    const s = await startBundle(t, '');
    assert.deepEqual(s.ready, { status: 'ready', checks: { nats: true, database: true, outbox: true } });
    assert.ok(existsSync(join(s.dataDir, 'cert-registry.sqlite')), 'the SQLite file was created and migrated');
    // The migrations ran by their class names (keepNames): the API answers from the migrated tables.
    const r = await fetch(`${s.url}/api/v1/accounts/acc/certificates`);
    assert.equal(r.status, 401, 'an API route answers (no token: 401)');
    // The OpenTelemetry metrics SDK and its Prometheus exporter work from the bundle.
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /^twoway_http_requests_total\{method="GET",route="\/api\/v1\/accounts\/:id\/certificates",status="401"\} 1$/m, metrics);
    const started = s.proc.log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { service?: string; msg?: string });
    assert.ok(started.some((l) => l.service === 'cert-registry' && l.msg === 'cert-registry started'), s.proc.log);
    s.proc.child.kill('SIGTERM');
    assert.equal(await s.proc.waitExit(), 0, s.proc.log);
  });

  it('starts on PostgreSQL (pg loaded from the runtime node_modules by TypeORM)', async (t) => {
    const s = await startBundle(t, await pg.createDatabase('cert_registry_bundle'));
    assert.deepEqual(s.ready, { status: 'ready', checks: { nats: true, database: true, outbox: true } });
    s.proc.child.kill('SIGTERM');
    assert.equal(await s.proc.waitExit(), 0, s.proc.log);
  });

  it('TWOWAY_OTEL_ENABLED loads the SDK chunk and exports a REST call as OTLP/HTTP protobuf, its span and its metrics', async (t) => {
    const bodies: Buffer[] = [];
    const metricBodies: Buffer[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') bodies.push(Buffer.concat(chunks));
        if (req.url === '/v1/metrics' && req.headers['content-type'] === 'application/x-protobuf') metricBodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const s = await startBundle(t, '', {
      TWOWAY_OTEL_ENABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '200',
      OTEL_LOGS_EXPORTER: 'none',
    });
    assert.equal((await fetch(`${s.url}/api/v1/accounts/acc/certificates`)).status, 401);
    // Protobuf keeps strings as UTF-8: the span name and the service's resource name are in the body.
    const body = await waitFor(() => bodies.find((b) => b.includes('twoway.http.request')), { timeoutMs: 15_000, what: 'an exported span' });
    assert.ok(body.includes('twoway-cert-registry'), 'the span carries the service name');
    // The same request counted, pushed over OTLP by the periodic reader (the OTel name: no `_total`).
    const pushed = await waitFor(() => metricBodies.find((b) => b.includes('twoway_http_requests') && b.includes('/api/v1/accounts/:id/certificates')), { timeoutMs: 15_000, what: 'pushed metrics' });
    assert.ok(pushed.includes('twoway-cert-registry'), 'the metrics carry the service name');
  });

  it('ships source maps: with --enable-source-maps a stack trace names the TypeScript file and line', async () => {
    const stackOf = async (flags: string[]) => {
      const p = OwnedProcess.spawn('cert-registry bundle', process.execPath, [...flags, main], {
        cwd: out.path,
        env: bundleEnv({ TWOWAY_NATS_URL: nats.url, TWOWAY_DATA_DIR: join(out.path, 'data-maps'), TWOWAY_HTTP_PORT: String(await freePort()), TWOWAY_DB_URL: 'mysql://u:secret@db/x' }),
      });
      assert.equal(await p.waitExit(), 1, p.log);
      const line = p.log.split('\n').find((l) => l.includes('failed to start'));
      assert.ok(line, p.log);
      assert.doesNotMatch(line, /secret/, 'the database password is masked');
      return (JSON.parse(line) as { err: { stack: string } }).err.stack;
    };
    assert.match(await stackOf(['--enable-source-maps']), /at dialectOf \(.*libs\/persistence\/src\/data-source\.ts:\d+:\d+\)/);
    // Without the flag (the default: it costs start-up time) the frames point into the bundle, by name.
    assert.match(await stackOf([]), /at dialectOf \(.*services\/cert-registry\/dist\/main\.js:\d+:\d+\)/);
    const map = JSON.parse(readFileSync(`${main}.map`, 'utf8')) as { sourcesContent?: unknown };
    assert.equal(map.sourcesContent, undefined, 'the maps carry no copy of the sources');
  });

  it('keeps names as written, redefining only the ones bundling changed (no runtime call per closure); anonymous closures stay anonymous', async () => {
    const chunks = join(out.path, 'services/cert-registry/dist/chunks');
    const helpers = readdirSync(chunks).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(chunks, f), 'utf8'))
      .concat(readFileSync(main, 'utf8'))
      .flatMap((js) => js.split('\n').filter((l) => l.startsWith('var __name = ')));
    assert.equal(helpers.length, 1, `one keepNames helper in the bundle: ${helpers.join(' | ')}`);
    // The helper as shipped, run: a function already named right is left alone, a renamed one is named back.
    const redefined: string[] = [];
    const defProp = (o: object, k: string, d: PropertyDescriptor) => (redefined.push(String(d.value)), Object.defineProperty(o, k, d));
    const __name = new Function('__defProp', `${helpers[0]}; return __name;`)(defProp) as (f: object, n: string) => object;
    function dialectOf() {}
    __name(dialectOf, 'dialectOf');
    const renamed = function dialectOf2() {};
    __name(renamed, 'dialectOf');
    assert.equal(renamed.name, 'dialectOf');
    assert.equal(dialectOf.name, 'dialectOf');
    const emitAck = [() => undefined][0]!; // an arrow function whose name nothing infers, as esbuild emits it
    __name(emitAck, 'emitAck');
    assert.equal(emitAck.name, '');
    assert.deepEqual(redefined, ['dialectOf'], 'only the renamed function was redefined');
  });

  it('the CLI bundle runs without the workspace: pki init-ca, issue-device, verify', async () => {
    const cli = join(out.path, 'apps/cli/dist/twoway.js');
    const run = async (args: string[]) => {
      const p = OwnedProcess.spawn('twoway', process.execPath, [cli, ...args], { cwd: out.path, env: bundleEnv({}) });
      return { code: await p.waitExit(), log: p.log };
    };
    const ca = join(out.path, 'pki/root');
    const devices = join(out.path, 'pki/devices');
    for (const args of [['pki', 'init-ca', '--cn', 'Bundle Root', '--out', ca], ['pki', 'issue-device', '--ca', ca, '--cn', 'sensor-1', '--out', devices]]) {
      const r = await run(args);
      assert.equal(r.code, 0, r.log);
    }
    const verify = await run(['pki', 'verify', '--leaf', join(devices, 'sensor-1.chain.pem'), '--trust', join(ca, 'ca.pem')]);
    assert.deepEqual(verify, { code: 0, log: 'valid\n  path: CN=sensor-1 <- CN=Bundle Root\n' });
    const unknown = await run(['nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.log, /unknown command 'nope'/);
  });
});
