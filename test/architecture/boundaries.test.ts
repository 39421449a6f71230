// Who imports whom (STYLE.md): read every project's tag from its package.json `nx.tags` and check
// every import in its sources against the table. Fails with the file, the import and the rule.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { builtinModules } from 'node:module';

const root = new URL('../..', import.meta.url).pathname;
type Tag = 'type:contracts' | 'type:lib' | 'type:testing' | 'type:service' | 'type:app' | 'type:e2e';

interface Project { name: string; dir: string; tag: Tag }
const projects: Project[] = [];
for (const group of ['libs', 'services', 'apps']) {
  for (const d of readdirSync(join(root, group))) {
    const pj = join(root, group, d, 'package.json');
    if (!existsSync(pj)) continue;
    const j = JSON.parse(readFileSync(pj, 'utf8')) as { name: string; nx?: { tags?: Tag[] } };
    projects.push({ name: j.name, dir: join(group, d), tag: j.nx?.tags?.[0] ?? ('untagged' as Tag) });
  }
}
projects.push({ name: '@twoway/e2e', dir: 'test', tag: 'type:e2e' });
const byName = new Map(projects.map((p) => [p.name, p]));

const allowed: Record<Tag, Tag[]> = {
  'type:contracts': [],
  'type:lib': ['type:contracts', 'type:lib'],
  'type:testing': ['type:contracts', 'type:lib'],
  'type:service': ['type:contracts', 'type:lib'],
  'type:app': ['type:contracts', 'type:lib'],
  'type:e2e': ['type:contracts', 'type:lib', 'type:testing'],
};

function sources(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    if (n === 'node_modules' || n === 'dist' || n.startsWith('.')) continue;
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|mts)$/.test(n) && !n.endsWith('.d.ts')) out.push(p);
  }
  return out;
}
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

describe('project boundaries', () => {
  it('every project is tagged', () => {
    assert.deepEqual(projects.filter((p) => !(p.tag in allowed)).map((p) => p.dir), []);
  });

  it('imports follow the table in STYLE.md', () => {
    const problems: string[] = [];
    for (const p of projects) {
      for (const f of sources(join(root, p.dir))) {
        const rel = relative(root, f);
        if (p.dir === 'test' && rel.startsWith('test/') === false) continue;
        const isTest = /\.(spec|test|fixture|bench)\.ts$/.test(f) || rel.startsWith('test/') || rel.includes('/bench/');
        for (const spec of importsOf(f)) {
          if (spec.startsWith('.')) {
            const target = join(f, '..', spec);
            if (!relative(join(root, p.dir), target).split('/').every((s, i) => i > 0 || s !== '..')) problems.push(`${rel}: relative import leaves its project: ${spec}`);
            continue;
          }
          if (spec.startsWith('@twoway/')) {
            const [scope, name, ...deep] = spec.split('/');
            const target = byName.get(`${scope}/${name}`);
            if (!target) { problems.push(`${rel}: unknown workspace package ${spec}`); continue; }
            if (deep.length) problems.push(`${rel}: deep import ${spec} (use the package's src/index.ts)`);
            if (target.tag === 'type:service' || target.tag === 'type:app') problems.push(`${rel}: imports ${target.tag} ${spec}: nothing imports a service or an app`);
            else if (target.tag === 'type:testing' && isTest) continue;
            else if (!allowed[p.tag].includes(target.tag)) problems.push(`${rel}: ${p.tag} may not import ${target.tag} (${spec})`);
            continue;
          }
          if (p.tag === 'type:contracts' && !isTest && (builtins.has(spec) || spec !== '@sinclair/typebox' && !spec.startsWith('@sinclair/typebox/'))) {
            problems.push(`${rel}: contracts must stay runtime-neutral (it runs in the console too): ${spec}`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
