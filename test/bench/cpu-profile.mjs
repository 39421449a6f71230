// Preloaded into service processes by message-path.bench.ts (BENCH_PROFILE_DIR): Node 20 refuses
// --cpu-prof in NODE_OPTIONS, so the profiler is started through the inspector and written on SIGUSR2.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.start'));
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(r.profile));
      session.post('Profiler.start');
    });
  });
}
