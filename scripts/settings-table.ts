// The README's settings table, generated from the services' config schemas.
//   node --import tsx scripts/settings-table.ts --write   rewrite the table in README.md
//   node --import tsx scripts/settings-table.ts --check   exit 1 when README.md differs (run by the tests)
import { readFileSync, writeFileSync } from 'node:fs';
import { describe as describeSchema, type Schema } from '@twoway/config';

const root = new URL('..', import.meta.url);
const services = ['broker', 'cert-registry', 'account-settings', 'audit', 'gateway'];
const isSchema = (v: unknown): v is Schema =>
  !!v && typeof v === 'object' && Object.values(v).length > 0 && Object.values(v).every((s) => s && typeof s === 'object' && 'env' in s && 'kind' in s && 'doc' in s);

const rows = new Map<string, { default: string; doc: string; services: string[] }>();
for (const s of services) {
  const mod = (await import(new URL(`services/${s}/src/config.ts`, root).href)) as Record<string, unknown>;
  const schemas = Object.values(mod).filter(isSchema);
  if (schemas.length === 0) throw new Error(`services/${s}/src/config.ts exports no settings schema`);
  for (const schema of schemas) {
    for (const r of describeSchema(schema)) {
      const row = rows.get(r.env) ?? { default: r.default, doc: r.doc, services: [] };
      if (!row.services.includes(s)) row.services.push(s);
      if (row.default !== r.default && !row.default.includes(r.default)) row.default = `${row.default} / ${r.default} (${s})`;
      rows.set(r.env, row);
    }
  }
}
const esc = (t: string) => t.replace(/\|/g, '\\|');
const table = [
  '| variable | default | used by | meaning |',
  '| --- | --- | --- | --- |',
  ...[...rows.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([env, r]) => `| \`${env}\` | ${r.default ? `\`${esc(r.default)}\`` : ''} | ${r.services.length === services.length ? 'all' : r.services.join(', ')} | ${esc(r.doc)} |`),
].join('\n');

const readmeUrl = new URL('README.md', root);
const readme = readFileSync(readmeUrl, 'utf8');
const re = /(<!-- settings-table:start -->\n)[\s\S]*?(<!-- settings-table:end -->)/;
if (!re.test(readme)) throw new Error('README.md has no settings-table markers');
const next = readme.replace(re, `$1${table}\n$2`);
if (process.argv.includes('--write')) {
  writeFileSync(readmeUrl, next);
  console.log(`README.md: ${rows.size} settings`);
} else if (next !== readme) {
  console.error('README.md settings table is out of date: run `node --import tsx scripts/settings-table.ts --write`');
  process.exit(1);
} else console.log(`README.md settings table matches the schemas (${rows.size} settings)`);
