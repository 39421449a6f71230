import { it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir, waitFor } from '@twoway/testing';
import { Supervisor } from './supervisor.js';

it('restarts a child that dies, says so, and stops it on stop()', async (t) => {
  const dir = await tempDir('twoway-sup-');
  t.after(() => dir[Symbol.asyncDispose]());
  const lines: string[] = [];
  const sup = new Supervisor((l) => lines.push(l));
  t.after(() => sup.stop());
  // dies on its first run (as kill -9 would leave it), stays up on the second
  const script = `const fs=require('fs');const f=${JSON.stringify(join(dir.path, 'runs'))};const n=fs.existsSync(f)?Number(fs.readFileSync(f,'utf8')):0;fs.writeFileSync(f,String(n+1));if(n===0)process.exit(3);setInterval(()=>{},1000);`;
  sup.start({ name: 'flaky', command: process.execPath, args: ['-e', script], env: process.env, cwd: dir.path, logFile: join(dir.path, 'flaky.log') });
  await waitFor(() => lines.some((l) => /flaky exited \(code 3\); restart #1 in 500 ms/.test(l)), { what: 'the restart line' });
  const pid = await waitFor(() => sup.pid('flaky'), { what: 'the second run', timeoutMs: 5000 });
  await sup.stop();
  assert.throws(() => process.kill(pid, 0), 'the child is gone after stop()');
  assert.equal(lines.filter((l) => l.includes('restart #')).length, 1, lines.join('\n'));
});
