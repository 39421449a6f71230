// Builds the console into dist/: index.html, app.js (one esbuild bundle) and app.css. Static files only,
// no CDN and no web fonts, so the console works on an offline installation.
import { build } from 'esbuild';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const dist = here('./dist/');
const dev = process.argv.includes('--dev');

// Each file is written beside its place and renamed over it: a server (or a test running at the same
// time) reading dist/ sees the old file or the new one, never a half-written or missing one.
const put = async (name, contents) => {
  const tmp = `${dist}${name}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, `${dist}${name}`);
};
await mkdir(dist, { recursive: true });
const result = await build({
  entryPoints: [here('./src/main.ts')],
  outfile: here('./dist/app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  write: false,
});
for (const f of result.outputFiles) await put('app.js', f.contents);
await put('index.html', await readFile(here('./src/index.html')));
await put('app.css', await readFile(here('./src/app.css')));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`console built: dist/app.js ${(bytes / 1024).toFixed(1)} KiB`);
