// How the launchers of this lib run a service or the `twoway` command: from the TypeScript sources
// through tsx (a clone needs no build), or from the production bundles of scripts/build.mjs with plain
// node. TWOWAY_TEST_ENTRY=dist switches System and Deployment to the bundles, so the end-to-end suite
// runs on what the image runs: `npm run build && TWOWAY_TEST_ENTRY=dist npm test -- test/e2e`.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export type Entry = 'source' | 'dist';

export class EntryError extends Error {
  override name = 'EntryError';
}

/** The entry chosen by TWOWAY_TEST_ENTRY (`source`, the default, or `dist`). */
export function entryFromEnv(env: NodeJS.ProcessEnv = process.env): Entry {
  const v = env.TWOWAY_TEST_ENTRY;
  if (v === undefined || v === '' || v === 'source') return 'source';
  if (v === 'dist') return 'dist';
  throw new EntryError(`TWOWAY_TEST_ENTRY must be source or dist, not ${JSON.stringify(v)}`);
}

function bundle(path: string): string {
  if (!existsSync(path)) throw new EntryError(`${path} does not exist: run \`npm run build\` first`);
  return path;
}

/** Arguments for `process.execPath` that run service `name`; `root` holds services/ (the repository by default). */
export function serviceArgs(name: string, entry: Entry = entryFromEnv(), root = repoRoot): string[] {
  return entry === 'source'
    ? ['--import', 'tsx', join(root, 'services', name, 'src/main.ts')]
    : [bundle(join(root, 'services', name, 'dist/main.js'))];
}

/** Arguments for `process.execPath` that run the `twoway` command. */
export function cliArgs(entry: Entry = entryFromEnv(), root = repoRoot): string[] {
  return entry === 'source' ? [join(root, 'apps/cli/bin/twoway.mjs')] : [bundle(join(root, 'apps/cli/dist/twoway.js'))];
}
