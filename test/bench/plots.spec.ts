// The benchmark charts are drawn by Vega-Lite, headless: one bar per system, with the value written.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@twoway/testing';
import { barChartSvg } from './plots.js';

it('a bar chart is an SVG with one bar per system and each median written next to it', async () => {
  await using dir = await tempDir('twoway-plots-');
  const file = join(dir.path, 'x.svg');
  await barChartSvg('server CPU per connect', 'ms', [
    { system: 'Mosquitto', median: 1.98, min: 1.9, max: 2.1 },
    { system: 'bare aedes', median: 2.11, min: 2, max: 2.3 },
    { system: 'twoway', median: 4.39, min: 4.1, max: 4.6 },
  ], file);
  const svg = await readFile(file, 'utf8');
  assert.match(svg, /^<svg /);
  const bars = [...svg.matchAll(/<path aria-label="ms: ([\d.]+); system: ([^"]+)"/g)].map((m) => `${m[2]}=${m[1]}`);
  assert.deepEqual(bars, ['Mosquitto=1.98', 'bare aedes=2.11', 'twoway=4.39'], 'one bar per system, its length the median');
  for (const v of ['1.98', '2.11', '4.39']) assert.match(svg, new RegExp(`>${v.replace('.', '\\.')}</text>`), `the median ${v} is written`);
  assert.ok(svg.includes('server CPU per connect'));
});
