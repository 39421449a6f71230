#!/usr/bin/env node
// Runs every test with node's test runner (TypeScript through tsx): unit (*.spec.ts), integration
// (*.int.spec.ts) and end-to-end (test/e2e/*.e2e.spec.ts, test/**/*.test.ts).
//   npm test                 everything
//   npm test -- --unit       unit tests only (no servers started)
//   npm test -- PATTERN...   only files whose path contains one of the patterns
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const patterns = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(spec|test)\.ts$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

let files = ['libs', 'services', 'apps', 'test', 'infra'].flatMap((d) => walk(join(root, d), []));
if (unitOnly) files = files.filter((f) => !/\.(int|e2e)\.spec\.ts$/.test(f) && !f.startsWith('test/'));
if (patterns.length) files = files.filter((f) => patterns.some((p) => f.includes(p)));
files.sort((a, b) => weight(a) - weight(b) || a.localeCompare(b));
// Unit tests first, then integration, then end-to-end: a broken contract fails fast.
function weight(f) {
  return f.includes('.e2e.') || f.startsWith('test/') ? 2 : f.includes('.int.') ? 1 : 0;
}
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
console.log(`running ${files.length} test files`);
// A test that hangs fails after 3 minutes instead of holding CI until its limit. The fleet-scale test
// (test/scale/) deploys nine processes and holds hundreds of TLS sessions: it runs last, alone, with a
// 10-minute bound.
const long = files.filter((f) => f.startsWith('test/scale/'));
const normal = files.filter((f) => !long.includes(f));
const run = (list, timeoutMs, concurrency) =>
  list.length === 0
    ? 0
    : (spawnSync(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${timeoutMs}`, `--test-concurrency=${concurrency}`, ...list],
        { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
      ).status ?? 1);
const a = run(normal, 180_000, process.env.TEST_CONCURRENCY ?? 2);
const b = run(long, 600_000, 1);
process.exit(a || b);
