// Closed-loop publish load between connected clients, shared by the message benchmarks: publishers stop
// when the slowest subscriber is `window` messages behind (QoS 0) or a publisher has `inflight`
// unacknowledged messages (QoS 1), so the figure is the rate the server sustains, not what it buffers.
import { RawMqtt } from './raw-mqtt.js';

export interface LoadOptions {
  qos: 0 | 1;
  window: number;
  inflight: number;
  payload: number;
  warmupMs: number;
  seconds: number;
  /** Topic of publisher i; subscribers must already be subscribed to a filter matching all of them. */
  topic?: (i: number) => string;
}

export interface LoadResult {
  /** Messages delivered (all subscribers together) in the measured window. */
  delivered: number;
  ms: number;
  rate: number;
  /** This process's CPU, % of one core, in the window: a saturated load generator measures itself. */
  benchCpuPct: number;
}

/**
 * Load `pubs` → `subs` for warm-up plus `seconds`; `window.start` and `window.stop` are called at the
 * bounds of the measured window (e.g. to read the server's CPU). Ends every client afterwards.
 */
export async function runMessageLoad(pubs: RawMqtt[], subs: RawMqtt[], o: LoadOptions, window: { start(): Promise<void> | void; stop(): Promise<void> | void }): Promise<LoadResult> {
  const payload = Buffer.alloc(o.payload, 0x61);
  const packets = pubs.map((_, i) => RawMqtt.publishPacket(o.topic?.(i) ?? `bench/p${i}/data`, payload, o.qos));
  let sent = 0;
  const sentBy = pubs.map(() => 0);
  let stopped = false;
  const delivered = () => subs.reduce((n, s) => n + s.received, 0);
  const pump = () => {
    if (stopped) return;
    const slowest = Math.min(...subs.map((s) => s.received));
    for (let i = 0; i < pubs.length; i++) {
      const p = pubs[i]!;
      p.socket.cork();
      // Round-robin in small steps so no publisher takes the whole window.
      let budget = 16;
      while (budget-- > 0 && sent - slowest < o.window && (o.qos === 0 || sentBy[i]! - p.acked < o.inflight)) {
        p.publish(packets[i]!, o.qos);
        sentBy[i]!++;
        sent++;
      }
      p.socket.uncork();
    }
  };
  for (const c of [...subs, ...pubs]) c.onProgress = pump;
  // QoS 0 publishers hear nothing back: a timer keeps them going when the window is open.
  const kick = setInterval(pump, 1);
  try {
    pump();
    await new Promise((r) => setTimeout(r, o.warmupMs));
    await window.start();
    const cpu0 = process.cpuUsage();
    const d0 = delivered();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.seconds * 1000));
    const d1 = delivered();
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    await window.stop();
    const n = d1 - d0;
    return { delivered: n, ms: t1 - t0, rate: (n / (t1 - t0)) * 1000, benchCpuPct: ((cpu.user + cpu.system) / 1000 / (t1 - t0)) * 100 };
  } finally {
    stopped = true;
    clearInterval(kick);
    for (const c of [...pubs, ...subs]) c.end();
  }
}
