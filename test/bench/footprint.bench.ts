// The whole system's memory at rest, `twoway up --separate` (one process per service) against `twoway up`
// as it starts by default (the four small services in one process, libs/runtime host.ts): the resident
// size of every process `twoway up` runs (launcher, nats-server, services), read once it stopped moving,
// per process and in all.
//
//   npm run build && node --import tsx test/bench/footprint.bench.ts [--runs 3] [--entry dist|source]
//   FOOTPRINT_ENV='{"MALLOC_ARENA_MAX":"2"}' …   extra environment for every process (allocator, V8 flags)
//
// Runs alternate between the two layouts, each on a fresh data directory with nothing connected. Not a
// test: it prints figures, it gates nothing (docs/benchmarks.md).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { System, processTreeStats, type Entry } from '@twoway/testing';
import { fmt, summary } from './support.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, entry: { type: 'string', default: 'dist' } } });
const RUNS = Number(values.runs);
const ENTRY = values.entry as Entry;
const MiB = 1024 * 1024;
const EXTRA_ENV: Record<string, string> = JSON.parse(process.env.FOOTPRINT_ENV ?? '{}');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS by process name (the launcher alone, then each pid file of DIR/run), once three readings a second apart agree within 0.5%. */
async function footprint(sys: System): Promise<Record<string, number>> {
  const runDir = join(sys.dataDir, 'run');
  const read = async () => {
    const roots = [{ name: 'total', pid: sys.proc.child.pid! }];
    for (const f of await readdir(runDir)) {
      if (f.endsWith('.pid')) roots.push({ name: f.slice(0, -4), pid: Number((await readFile(join(runDir, f), 'utf8')).trim()) });
    }
    const s = await processTreeStats(roots);
    const children = Object.entries(s.rssBytes).filter(([k]) => k !== 'total').reduce((n, [, v]) => n + v, 0);
    return { ...s.rssBytes, launcher: s.rssBytes.total! - children } as Record<string, number>;
  };
  const totals: number[] = [];
  for (let i = 0; i < 60; i++) {
    const r = await read();
    totals.push(r.total!);
    const last = totals.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) <= 0.005 * last[2]!) return r;
    await sleep(1000);
  }
  return read();
}

const results: Record<string, Record<string, number[]>> = { separate: {}, combined: {} };
for (let run = 0; run < RUNS; run++) {
  for (const layout of ['separate', 'combined'] as const) {
    const sys = await System.start({ entry: ENTRY, env: { TWOWAY_COMBINED: layout === 'combined' ? 'true' : 'false', TWOWAY_LOG_LEVEL: 'warn', ...EXTRA_ENV } });
    try {
      const f = await footprint(sys);
      for (const [k, v] of Object.entries(f)) (results[layout]![k] ??= []).push(v);
      process.stderr.write(`run ${run + 1}/${RUNS} ${layout}: ${fmt(f.total! / MiB)} MiB (${Object.entries(f).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${fmt(v / MiB)}`).join(', ')})\n`);
    } finally {
      await sys.stop();
    }
  }
}

const med = (xs: number[] | undefined) => (xs?.length ? summary(xs).p50 / MiB : NaN);
const names = [...new Set([...Object.keys(results.separate!), ...Object.keys(results.combined!)])].filter((k) => k !== 'total').sort();
console.log(`command: node --import tsx test/bench/footprint.bench.ts --runs ${RUNS} --entry ${ENTRY}`);
console.log(`RSS at rest, nothing connected, medians of ${RUNS} runs (MiB)\n`);
console.log('| process | `--separate`: one process per service | default: the small services in one process |');
console.log('| --- | --- | --- |');
for (const n of names) console.log(`| ${n} | ${fmt(med(results.separate![n]))} | ${fmt(med(results.combined![n]))} |`);
const t = [med(results.separate!.total), med(results.combined!.total)] as const;
console.log(`| **every process** | **${fmt(t[0])}** | **${fmt(t[1])}** (${fmt((100 * t[1]) / t[0])}%) |`);
