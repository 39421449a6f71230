#!/usr/bin/env node
// The production build (`npm run build`): each service and the `twoway` command bundled ahead of time by
// esbuild into ESM with source maps, run by plain `node` with no TypeScript loader:
//   services/<name>/dist/main.js     node --enable-source-maps services/<name>/dist/main.js
//   apps/cli/dist/twoway.js          node apps/cli/dist/twoway.js <command>
//   libs/runtime/dist/services-host.js   the small services in one process (`twoway up --combined`)
// Workspace libs and pure-JS packages are inside the bundles; the packages in EXTERNAL
// (scripts/build-targets.mjs says why) stay in node_modules and are all the runtime image installs
// (scripts/stage-runtime.mjs). Development needs no build: `twoway up` and `npm test` run the sources.
//   node scripts/build.mjs                       every service, the CLI and the console
//   node scripts/build.mjs cert-registry cli     only these (service names, `host`, `cli`, `console`)
//   node scripts/build.mjs --out-root DIR ...    into DIR/services/<name>/dist, … instead of the repository
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { EXTERNAL, OPTIONAL_ABSENT, SERVICES, TARGETS } from './build-targets.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

// CommonJS packages inside an ESM bundle still require() Node built-ins and the external packages;
// resolved from the bundle's own location, so node_modules next to (or above) dist/ is found.
const BANNER = "import { createRequire as __twowayCreateRequire } from 'node:module';\nconst require = __twowayCreateRequire(import.meta.url);";

/** Build one target (a service name or `cli`) into `<outRoot>/<its outdir>`. */
export async function buildTarget(name, { outRoot = root } = {}) {
  const t = TARGETS[name];
  if (!t) throw new Error(`unknown build target ${name} (one of ${Object.keys(TARGETS).join(', ')})`);
  const outdir = join(outRoot, t.outdir);
  await rm(outdir, { recursive: true, force: true });
  const started = performance.now();
  const generated = t.hosts ? await hostEntry(t.hosts) : undefined;
  const result = await build({
    entryPoints: { [t.name]: generated ?? join(root, t.entry) },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // A dynamic import() becomes a chunk of its own, read only when reached: the OpenTelemetry SDK
    // (more than a third of a service bundle) only with TWOWAY_OTEL_ENABLED, each CLI command on use.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    // Mappings only: stack traces (node --enable-source-maps) need no copy of the sources.
    sourcemap: true,
    sourcesContent: false,
    // Bundling renames a class or function whose name collides with another module's; keepNames keeps
    // `.name` as written, which TypeORM reads for a migration without a `name` field (ours set it, and
    // register entities and migrations by reference, never by glob) and stack traces show.
    keepNames: true,
    external: [...EXTERNAL, ...OPTIONAL_ABSENT],
    banner: { js: BANNER },
    tsconfig: join(root, 'tsconfig.base.json'),
    metafile: true,
    logLevel: 'warning',
  }).finally(() => generated && rm(dirname(generated), { recursive: true, force: true }));
  await cheapenKeepNames(Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).map((f) => resolve(f)));
  // The bundles are ESM; this marks them so wherever dist/ is copied, with or without the package's
  // own package.json next to it.
  await mkdir(outdir, { recursive: true });
  await writeFile(join(outdir, 'package.json'), '{ "type": "module" }\n');
  // The CLI bundle starts with `#!/usr/bin/env node` (bin.ts), so it can be linked onto the PATH.
  if (name === 'cli') await chmod(join(outdir, `${t.name}.js`), 0o755);
  const js = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js'));
  const entry = js.find(([f]) => f.endsWith(`/${t.name}.js`));
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  const onDemand = js.filter((x) => x !== entry).reduce((n, [, o]) => n + o.bytes, 0);
  return { name, file: join(outdir, `${t.name}.js`), bytes: entry?.[1].bytes ?? 0, line: `${name.padEnd(17)} ${t.outdir}/${t.name}.js  ${kib(entry?.[1].bytes ?? 0)} (+ ${kib(onDemand)} of chunks loaded on demand)  ${Math.round(performance.now() - started)} ms` };
}

// esbuild's keepNames helper, as it emits it once per bundle: it runs for every named function and class
// each time one is created, closures included, so for several closures aedes makes per packet.
const NAME_HELPER = 'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
// Redefining `name` costs a runtime call and a new map for the function: a profile of the broker under
// message load spent 7% of its time there, and more in the garbage collector (esbuild offers no way to
// keep names for our code only). So the helper redefines only what bundling actually renamed: a
// function or class whose name is already right is left alone, and so is an anonymous function (an
// arrow function bound to a variable, as `const emitAck = (err) => …` in aedes' PUBACK handler): its
// name came from the binding, which bundling moved, and only a stack trace would show it. Classes are
// named before their static blocks run, so a class is never taken for anonymous.
const CHEAP_NAME_HELPER = 'var __name = (target, value) => target.name === value || target.name === "" ? target : __defProp(target, "name", { value, configurable: true });';

/** Swap the keepNames helper of each bundle for one that skips names already right; fail if esbuild changed it. */
async function cheapenKeepNames(files) {
  let uses = false;
  let defined = 0;
  for (const f of files) {
    const js = await readFile(f, 'utf8');
    uses ||= js.includes('__name(');
    const at = js.indexOf(NAME_HELPER);
    if (at < 0) continue;
    if (js.indexOf(NAME_HELPER, at + 1) >= 0) throw new Error(`${f}: the keepNames helper is defined twice`);
    defined++;
    await writeFile(f, js.slice(0, at) + CHEAP_NAME_HELPER + js.slice(at + NAME_HELPER.length));
  }
  if (uses && defined !== 1) throw new Error(`expected esbuild's keepNames helper once in the bundle, found it ${defined} times (its text changed? update NAME_HELPER)`);
}

/**
 * The entry of the bundle that hosts several services in one process (libs/runtime host.ts): each
 * service's main module behind a dynamic import, so that each is a chunk loaded when started and the
 * libraries they share are one chunk of their own. Written to a temporary file (absolute imports):
 * nothing in the repository imports a service.
 */
async function hostEntry(hosts) {
  const dir = await mkdtemp(join(tmpdir(), 'twoway-host-entry-'));
  const file = join(dir, 'services-host.ts');
  const loaders = hosts.map((h) => `  ${JSON.stringify(h)}: () => import(${JSON.stringify(join(root, TARGETS[h].entry))}),`).join('\n');
  await writeFile(file, `import { runHostFromEnv } from ${JSON.stringify(join(root, 'libs/runtime/src/host.ts'))};\nawait runHostFromEnv({\n${loaders}\n});\n`);
  return file;
}

function buildConsole() {
  const r = spawnSync(process.execPath, [join(root, 'apps/console/build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`the console build failed (exit ${r.status})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({ options: { 'out-root': { type: 'string' } }, allowPositionals: true });
  const outRoot = values['out-root'] ? resolve(values['out-root']) : root;
  const names = positionals.length ? positionals : [...SERVICES, 'host', 'cli', 'console'];
  const unknown = names.filter((n) => n !== 'console' && !TARGETS[n]);
  if (outRoot !== root && names.includes('console')) {
    console.error('build: the console is built into apps/console/dist only (name the targets with --out-root)');
    process.exit(2);
  }
  if (unknown.length) {
    console.error(`build: unknown target ${unknown.join(', ')} (one of ${[...Object.keys(TARGETS), 'console'].join(', ')})`);
    process.exit(2);
  }
  try {
    for (const n of names) {
      if (n === 'console') buildConsole();
      else console.log((await buildTarget(n, { outRoot })).line);
    }
  } catch (e) {
    // esbuild has printed the errors with their locations already.
    console.error(`build failed: ${e.message.split('\n')[0]}`);
    process.exit(1);
  }
}
