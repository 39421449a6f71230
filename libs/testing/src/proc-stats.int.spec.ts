// A system's CPU across the restart of one of its processes: the killed process counts up to the first
// reading, its replacement whole, the others by their growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpuSince, treeCpuByPid } from './proc-stats.js';

test('cpuSince: a process started after the first reading counts whole, a killed one nothing more, the others their growth', () => {
  const before = new Map([[10, 500], [11, 300], [12, 40]]);
  // 11 was killed and replaced by 20; 10 and 12 ran on.
  const after = new Map([[10, 800], [12, 40], [20, 250]]);
  assert.equal(cpuSince(before, after), 300 + 0 + 250);
});

test('cpuSince: a root replaced by a new process (its whole tree new) counts the new tree whole', () => {
  assert.equal(cpuSince(new Map([[10, 900]]), new Map([[30, 120], [31, 5]])), 125);
});

test('treeCpuByPid: the root and its live descendants, by pid', async (t) => {
  const child = spawn(process.execPath, ['-e', 'process.stdout.write("up"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => child.kill('SIGKILL'));
  await once(child.stdout!, 'data');
  const tree = await treeCpuByPid(process.pid);
  assert.ok(tree.has(process.pid), 'the root');
  assert.ok(tree.has(child.pid!), 'a child');
  assert.ok([...tree.values()].every((ms) => Number.isFinite(ms) && ms >= 0));
  assert.ok(tree.get(process.pid)! > 0, 'this process has spent CPU');
});
