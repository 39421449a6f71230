// `npm run scale`: the fleet-scale run at full size (docs/scaling.md). On demand, not in CI (about
// 25 minutes on 2 cores); the CI test (scale.e2e.spec.ts) runs the same phases reduced.
//   node --import tsx test/scale/scale.ts [--pinned 100000] [--sessions 10000] [--per-intermediate 2000]
//        [--devices-per-credential 10] [--brokers 3] [--concurrency 200] [--drain-window-ms 10000]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as scenario from './scenario.js';
import { runScale, table } from './scenario.js';

const { values } = parseArgs({
  options: {
    pinned: { type: 'string', default: '100000' },
    sessions: { type: 'string', default: '10000' },
    'per-intermediate': { type: 'string', default: '2000' },
    'devices-per-credential': { type: 'string', default: '10' },
    brokers: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '200' },
    'drain-window-ms': { type: 'string', default: '10000' },
    phases: { type: 'string', default: 'storm,suspend,nats-kill,rolling' },
  },
});
const o = {
  pinned: Number(values.pinned),
  sessions: Number(values.sessions),
  perIntermediate: Number(values['per-intermediate']),
  devicesPerCredential: Number(values['devices-per-credential']),
  brokers: Number(values.brokers),
  concurrency: Number(values.concurrency),
  drainWindowMs: Number(values['drain-window-ms']),
  phases: values.phases!.split(',').filter(Boolean) as ('storm' | 'suspend' | 'nats-kill' | 'rolling')[],
  log: (l: string) => process.stderr.write(`${l}\n`),
  logDir: join(tmpdir(), 'twoway-scale-logs'),
};
await rm(o.logDir, { recursive: true, force: true });
process.stderr.write(`process logs in ${o.logDir}\n`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`${sig}: stopping everything the run started\n`);
    void (scenario.abortRun?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
const started = Date.now();
const { rows } = await runScale(o);
console.log(`\ncommand: node --import tsx test/scale/scale.ts --pinned ${o.pinned} --sessions ${o.sessions} --per-intermediate ${o.perIntermediate} --devices-per-credential ${o.devicesPerCredential} --brokers ${o.brokers} --concurrency ${o.concurrency} --drain-window-ms ${o.drainWindowMs} --phases ${o.phases.join(',')}`);
console.log(`run took ${((Date.now() - started) / 60_000).toFixed(1)} min\n`);
console.log(table(rows));
