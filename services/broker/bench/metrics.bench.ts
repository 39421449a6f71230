// Benchmark: what the broker's metrics cost on the connect path — one `decisions.inc({ outcome, reason })`
// as src/connect/index.ts calls it (a fresh label object per call, over a mix of outcomes and reasons),
// `connections.inc({ transport })` as the listener calls it per socket, and one scrape (`render()`)
// with those series in place. CPU time per operation (process.cpuUsage: what contention on a shared
// machine inflates least) and wall time, median of the rounds. Run it on two commits to compare.
//   node --import tsx services/broker/bench/metrics.bench.ts [--ops 1000000] [--rounds 7]
import { parseArgs } from 'node:util';
import type { ServiceMetrics } from '@twoway/telemetry';
import { ConnectReasons } from '@twoway/contracts';
import { BrokerMetrics } from '../src/http/metrics.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '7' } } });
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);

/** Decisions as a busy fleet makes them: mostly accepted, a tail of refusals. */
const MIX: { outcome: string; reason: string }[] = [
  ...Array.from({ length: 12 }, () => ({ outcome: 'accepted', reason: ConnectReasons.MUTUAL_TLS })),
  { outcome: 'accepted', reason: ConnectReasons.CHAIN_UNTRUSTED }, // a fallback
  { outcome: 'rejected', reason: ConnectReasons.CERT_REVOKED },
  { outcome: 'rejected', reason: ConnectReasons.BAD_CREDENTIALS },
  { outcome: 'rejected', reason: ConnectReasons.MTLS_REQUIRED },
];
const TRANSPORTS = ['tls', 'tls', 'tls', 'wss'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `ops` calls of `loop` per round; the first round warms up (the optimising compiler, every series created). */
async function measure(name: string, ops: number, loop: (ops: number) => unknown): Promise<string> {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await loop(ops);
    const w = performance.now() - w0;
    const c = process.cpuUsage(c0);
    if (r === 0) continue;
    cpu.push(((c.user + c.system) * 1000) / ops);
    wall.push((w * 1e6) / ops);
  }
  return `| ${name} | ${median(cpu).toFixed(0)} | ${median(wall).toFixed(0)} | ${ops} × ${ROUNDS} |`;
}

/** The OpenTelemetry SDK's `Counter.add` alone, attributes made once (none on a commit without the SDK). */
async function sdkAdd(): Promise<string[]> {
  const meter = (new BrokerMetrics() as { registry?: ServiceMetrics }).registry?.meter;
  if (!meter) return [];
  const counter = meter.createCounter('bench_adds');
  const attrs = MIX.map((d) => Object.freeze({ ...d }));
  return [await measure('SDK `Counter.add(1, attributes)`', OPS, (ops) => {
    for (let i = 0; i < ops; i++) counter.add(1, attrs[i % attrs.length]);
  })];
}

const m = new BrokerMetrics();
const rows = [
  await measure('`decisions.inc({ outcome, reason })`', OPS, (ops) => {
    for (let i = 0; i < ops; i++) {
      const d = MIX[i % MIX.length]!;
      m.decisions.inc({ outcome: d.outcome, reason: d.reason });
    }
  }),
  await measure('`connections.inc({ transport })`', OPS, (ops) => {
    for (let i = 0; i < ops; i++) m.connections.inc({ transport: TRANSPORTS[i & 3]! });
  }),
  // Its two parts (on a commit with the OpenTelemetry-backed metrics): finding the label set's series
  // (what `get` does), and the SDK's own `add` with those prepared attributes.
  await measure('`decisions.get({ outcome, reason })`', OPS, (ops) => {
    for (let i = 0; i < ops; i++) {
      const d = MIX[i % MIX.length]!;
      m.decisions.get({ outcome: d.outcome, reason: d.reason });
    }
  }),
  ...(await sdkAdd()),
  // `await` on a string too: the same loop measures a synchronous and an asynchronous render.
  await measure('`render()` (one /metrics scrape)', Math.max(1, Math.floor(OPS / 2000)), async (ops) => {
    for (let i = 0; i < ops; i++) await m.render();
  }),
];
if (m.decisions.get({ outcome: 'accepted', reason: ConnectReasons.MUTUAL_TLS }) === 0) throw new Error('the decisions were not counted');

console.log(`node --import tsx services/broker/bench/metrics.bench.ts --ops ${OPS} --rounds ${ROUNDS}`);
console.log('| operation | CPU ns/op | wall ns/op | ops |');
console.log('| --- | --- | --- | --- |');
for (const r of rows) console.log(r);
