// Benchmark: what one broker replica spends to end N live sessions on a status change, measured in
// its own process (a broker started in-process as production does, real nats-server and TLS, fake
// owners from broker.fixture.ts): wall time from the change being published to the last socket
// destroyed, and the CPU time this process spent on it (which contention on a shared machine does not
// inflate), until the last socket was destroyed and until its N `session.ended` audit events were
// published. The devices are a paused lean fleet in a child process (no CPU of theirs meanwhile).
//   node --import tsx services/broker/bench/kick.bench.ts [--sessions 100] [--runs 20]
// BENCH_PROFILE=FILE writes a CPU profile (.cpuprofile, for Chrome DevTools) of the revocation windows only.
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { CertStatus } from '@twoway/contracts';
import { Fleet, openLean, waitFor, wallNow, type LeanDevice } from '@twoway/testing';
import { PASSWORD, PROVIDER, settingsOf, startFixture } from '../src/broker.fixture.js';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '100' }, runs: { type: 'string', default: '20' } } });
const SESSIONS = Number(values.sessions);
const RUNS = Number(values.runs);

const fx = await startFixture({ TWOWAY_MAX_PENDING_PER_IP: '1000' });
await using fleet = Fleet.start();
try {
  fx.accounts[PROVIDER] = settingsOf(false, true);
  fx.credentials.set('bench-device', { accountId: PROVIDER, id: 'cred-bench' });
  fx.register('root', fx.pki.root, 'VALID');
  fx.register('inter', fx.pki.intermediate, 'VALID');
  const dev = await fx.pki.device('bench-device');
  const device = (clientId: string): LeanDevice => ({
    host: '127.0.0.1', port: fx.broker.mqttPort, servername: 'localhost', ca: fx.pki.root.certPem, cert: dev.chainPem, key: dev.keyPem,
    username: 'bench-device', password: PASSWORD, clientId,
  });
  const setStatus = (status: CertStatus) => fx.setCertStatus('inter', status);
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

  const profile = process.env.BENCH_PROFILE;
  const inspector = new Session();
  if (profile) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  const wallClosed: number[] = [];
  const cpuClosed: number[] = [];
  const cpuAudited: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await fleet.open(Array.from({ length: SESSIONS }, (_, i) => device(`k-${run}-${i}`)), { watch: false });
    await waitFor(() => fx.broker.sessions.size === SESSIONS, { what: 'sessions registered' });
    await new Promise((r) => setTimeout(r, 300));
    const auditBefore = fx.audit.length;
    if (profile) await inspector.post('Profiler.start');
    const cpu0 = process.cpuUsage();
    const t0 = wallNow();
    await setStatus('SUSPENDED');
    // Polled every turn of the event loop, so the poll itself stays cheap and the close time exact.
    await new Promise<void>((resolve) => {
      const check = () => (fx.broker.sessions.size === 0 ? resolve() : setImmediate(check));
      check();
    });
    wallClosed.push(wallNow() - t0);
    cpuClosed.push(cpuMs(process.cpuUsage(cpu0)));
    await waitFor(() => fx.audit.length - auditBefore >= SESSIONS, { what: 'session.ended audit events', everyMs: 2 });
    cpuAudited.push(cpuMs(process.cpuUsage(cpu0)));
    if (profile) {
      const { profile: p } = await inspector.post('Profiler.stop');
      await writeFile(`${profile}.${run}.cpuprofile`, JSON.stringify(p));
    }
    const closed = await fleet.collect(10_000);
    if (closed.open) throw new Error(`${closed.open} sessions not closed by the broker`);
    await fleet.end();
    await setStatus('VALID');
    await waitFor(async () => {
      const s = await openLean(device(`ready-${run}`)).catch(() => undefined);
      s?.socket.destroy();
      return s?.returnCode === 0;
    }, { what: 'admitted again' });
  }
  const fmt = (x: number) => x.toFixed(2);
  const row = (label: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
    return `| ${label} | ${fmt(at(0.5))} | ${fmt(at(0.9))} | ${fmt(s.at(-1)!)} | ${fmt((at(0.5) / SESSIONS) * 1000)} |`;
  };
  console.log(`\ncommand: node --import tsx services/broker/bench/kick.bench.ts --sessions ${SESSIONS} --runs ${RUNS}`);
  console.log(`one replica ends ${SESSIONS} sessions on an intermediate's suspension; ms (last column: µs a session at p50)`);
  console.log('| measure | p50 | p90 | max | per session |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(row('wall: change published → last socket destroyed', wallClosed));
  console.log(row('CPU of the broker process until then', cpuClosed));
  console.log(row('CPU until every session.ended event was published (and read back by the fixture)', cpuAudited));
} finally {
  await fleet.stop();
  await fx.stop();
}
