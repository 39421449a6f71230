// Builds the console into dist/: index.html, app.js (one esbuild bundle) and app.css. Static files only,
// no CDN and no web fonts, so the console works on an offline installation.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const dist = here('./dist/');
const dev = process.argv.includes('--dev');

await rm(dist, { recursive: true, force: true });
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
});
await copyFile(here('./src/index.html'), here('./dist/index.html'));
await copyFile(here('./src/app.css'), here('./dist/app.css'));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`console built: dist/app.js ${(bytes / 1024).toFixed(1)} KiB`);
