// The child process behind `Fleet` (fleet.ts): live device sessions in a process of their own, so that
// the benchmark's own work (the PATCH, the connect probes) and the fleet's bookkeeping never delay
// each other's timestamps. Every timestamp is wall-clock ms with sub-ms precision (`wallNow`).
//   parent → { type: 'open', devices: LeanDevice[], batch, watch }  ← { type: 'opened', n } | { type: 'failed', message }
//   parent → { type: 'collect', timeoutMs }                         ← { type: 'closed', times, open }
//
// With `watch: false` the sessions stop reading once connected: the kernel keeps the server's FIN
// until `collect` resumes them, so the fleet spends no CPU while the replicas close (on a machine where
// the devices share the brokers' cores, ~0.2 ms a TLS socket teardown would be measured as theirs).
// `collect` then only proves every session was closed by the server; its times are not device times.
//   parent → { type: 'end' }                                  ← { type: 'ended' }
import { openLean, type LeanDevice, type LeanSession } from './lean-mqtt.js';

type Msg = { type: 'open'; devices: LeanDevice[]; batch: number; watch: boolean } | { type: 'collect'; timeoutMs: number } | { type: 'end' };

let sessions: LeanSession[] = [];
let watching = true;
let closedTimes: number[] = [];
const send = (m: object) => process.send!(m);

process.on('message', (m: Msg) => {
  void handle(m).catch((e: unknown) => send({ type: 'failed', message: (e as Error).message }));
});
process.on('disconnect', () => {
  for (const s of sessions) s.socket.destroy();
  process.exit(0);
});

async function handle(m: Msg): Promise<void> {
  if (m.type === 'open') {
    closedTimes = [];
    const opened: LeanSession[] = [];
    for (let i = 0; i < m.devices.length; i += m.batch) {
      opened.push(...(await Promise.all(m.devices.slice(i, i + m.batch).map((d) => openLean(d)))));
    }
    const refused = opened.filter((s) => s.returnCode !== 0);
    if (refused.length) {
      for (const s of opened) s.socket.destroy();
      throw new Error(`${refused.length} of ${opened.length} fleet connects refused (CONNACK ${refused[0]!.returnCode})`);
    }
    sessions = opened;
    watching = m.watch;
    for (const s of sessions) {
      if (!watching) s.socket.pause();
      void s.closed.then((t) => closedTimes.push(t));
    }
    send({ type: 'opened', n: sessions.length });
  } else if (m.type === 'collect') {
    if (!watching) for (const s of sessions) s.socket.resume();
    const until = Date.now() + m.timeoutMs;
    while (closedTimes.length < sessions.length && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    send({ type: 'closed', times: closedTimes, open: sessions.length - closedTimes.length });
  } else {
    for (const s of sessions) s.socket.destroy();
    sessions = [];
    send({ type: 'ended' });
  }
}
