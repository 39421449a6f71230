#!/usr/bin/env node
// Lays out what the runtime image holds, in a directory: the bundles of every service and of the CLI,
// the built console, and a node_modules with only the packages the bundles leave external and their
// dependencies (scripts/build-targets.mjs). The Dockerfile's build stage runs it and the runtime stage
// copies its output whole, so `du` of a staged directory is the image's application layer.
//   npm run build && node scripts/stage-runtime.mjs OUT      (OUT must not exist or be empty)
//   node scripts/stage-runtime.mjs --node-modules-only OUT    only OUT/node_modules (next to bundles built
//                                                             with build.mjs --out-root OUT)
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EXTERNAL, INSTALL_ONLY, KEEP_ONLY, RUNTIME_DIRS } from './build-targets.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Where Node would find package `name` from inside `fromDir` (a package directory or the root). */
function resolvePackage(name, fromDir) {
  for (let d = fromDir; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (d === root || dirname(d) === d) return undefined;
  }
}

/**
 * The installed directories of `names` and of everything they depend on (optional dependencies when
 * installed), each at the path npm gave it, so nested versions keep resolving as they do here.
 */
export async function packageClosure(names = EXTERNAL) {
  const found = new Map();
  const visit = async (name, fromDir, { requiredBy, optional = false } = {}) => {
    // Type declarations are never loaded at run time, though some packages list them as dependencies.
    if (INSTALL_ONLY.includes(name) || name.startsWith('@types/')) return;
    const dir = resolvePackage(name, fromDir);
    if (!dir) {
      if (optional) return;
      throw new Error(`${name}${requiredBy ? `, a dependency of ${requiredBy},` : ''} is not installed (run npm ci)`);
    }
    if (found.has(dir)) return;
    found.set(dir, name);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) await visit(dep, dir, { requiredBy: name });
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) await visit(dep, dir, { requiredBy: name, optional: true });
  };
  for (const n of names) await visit(n, root);
  return [...found].map(([dir, name]) => ({ name, dir }));
}

async function du(path) {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let n = 0;
  for (const e of await readdir(path)) n += await du(join(path, e));
  return n;
}

/** Copy the external packages (pruned as KEEP_ONLY says) into `<out>/node_modules`. */
export async function stageNodeModules(out) {
  const packages = await packageClosure();
  for (const { name, dir } of packages) {
    const to = join(out, relative(root, dir));
    const keep = KEEP_ONLY[name];
    if (!keep) await cp(dir, to, { recursive: true, filter: (src) => !/[/\\]node_modules[/\\]\.bin$/.test(src) && src !== join(dir, 'node_modules') });
    else for (const p of keep) await cp(join(dir, p), join(to, p), { recursive: true });
  }
  return packages;
}

/** The whole runtime tree: bundles, console and pruned node_modules. */
export async function stageRuntime(out) {
  if (existsSync(out) && (await readdir(out)).length > 0) throw new Error(`${out} is not empty`);
  const missing = RUNTIME_DIRS.filter((d) => !existsSync(join(root, d)));
  if (missing.length) throw new Error(`not built: ${missing.join(', ')} (run npm run build)`);
  await mkdir(out, { recursive: true });
  for (const d of RUNTIME_DIRS) await cp(join(root, d), join(out, d), { recursive: true });
  const packages = await stageNodeModules(out);
  return { packages, sizes: { total: await du(out), node_modules: await du(join(out, 'node_modules')), ...Object.fromEntries(await Promise.all(RUNTIME_DIRS.map(async (d) => [d, await du(join(out, d))]))) } };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({ options: { 'node-modules-only': { type: 'boolean' } }, allowPositionals: true });
  const out = positionals[0];
  if (!out || positionals.length > 1) {
    console.error('usage: node scripts/stage-runtime.mjs [--node-modules-only] OUT');
    process.exit(2);
  }
  try {
    if (values['node-modules-only']) {
      const packages = await stageNodeModules(out);
      console.log(`staged ${packages.length} packages in ${join(out, 'node_modules')}`);
      process.exit(0);
    }
    const { packages, sizes } = await stageRuntime(out);
    const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
    console.log(`staged in ${out}: ${mib(sizes.total)}`);
    for (const [k, v] of Object.entries(sizes)) if (k !== 'total') console.log(`  ${k.padEnd(28)} ${mib(v)}`);
    console.log(`  packages: ${packages.map((p) => p.name).sort().join(' ')}`);
  } catch (e) {
    console.error(`stage-runtime: ${e.message}`);
    process.exit(1);
  }
}
