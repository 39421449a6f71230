// Where a V8 CPU profile's time went: self time by function and by package, the top of each.
//   node test/bench/profile-top.mjs FILE.cpuprofile [...] [--top 25]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const TOP = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
for (const file of args) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  // samples[i] ran for timeDeltas[i + 1] (the delta to the next sample); the last one is unknown.
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
  const total = [...dt.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const pkg = new Map();
  for (const [id, us] of dt) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = url.replace(/^file:\/\//, '');
    const m = where.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const owner = m ? m[1] : where.startsWith('node:') ? 'node core' : where === '' ? `(${functionName || 'native'})` : where.includes('/services/') || where.includes('/libs/') || where.includes('/dist/') ? 'twoway' : where;
    const key = `${functionName || '(anonymous)'} ${where.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    pkg.set(owner, (pkg.get(owner) ?? 0) + us);
  }
  const show = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`).join('\n');
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n by package:\n${show(pkg)}\n by function (self):\n${show(fn)}\n`);
}
