// The child process behind `HeldFleet` (held-fleet.ts): thousands of devices that behave as devices
// in the field do. Each holds one live session, and when the server ends it (a revocation, a broker
// restart) or refuses it, reconnects after a jittered exponential backoff, moving to another broker
// of its list, chosen at random, on every failed attempt (as a load balancer spreads new connections). The parent asks for counts; this process does all socket work so the
// parent's timestamps are not delayed by it.
//   parent → { type: 'hold', devices, concurrency, minMs, maxMs }   ← { type: 'holding', n }
//   parent → { type: 'status' }                                       ← { type: 'status', ...Status }
//   parent → { type: 'drop' }   every socket destroyed at once (they all reconnect: a storm)   ← { type: 'dropped', n }
//   parent → { type: 'end' }    every socket destroyed, no reconnect                           ← { type: 'ended' }
import { openLean, wallNow, type LeanDevice, type LeanSession } from './lean-mqtt.js';

export interface HeldDevice extends Omit<LeanDevice, 'port'> {
  /** Brokers in the order this device tries them (its own first). */
  ports: number[];
  /** Group label (e.g. the intermediate it sits below), for per-group counts. */
  group: string;
}

export interface HeldStatus {
  total: number;
  up: number;
  /** Live sessions per group. */
  upByGroup: Record<string, number>;
  /** Live sessions per broker port. */
  upByPort: Record<string, number>;
  /** Refusals by CONNACK return code, and attempts that failed before a CONNACK (by message). */
  refused: Record<string, number>;
  failed: Record<string, number>;
  /** Sessions ended by the server, and accepted connects, since the fleet started. */
  closedByServer: number;
  accepted: number;
  /** Wall-clock ms of the last change of `up`. */
  lastChangeMs: number;
}

interface Slot {
  d: HeldDevice;
  session?: LeanSession;
  attempt: number;
  portIndex: number;
  timer?: NodeJS.Timeout;
}

let slots: Slot[] = [];
let holding = false;
let concurrency = 100;
let minMs = 250;
let maxMs = 5_000;
let inFlight = 0;
const waiting: Slot[] = [];
const st = { refused: {} as Record<string, number>, failed: {} as Record<string, number>, closedByServer: 0, accepted: 0, up: 0, lastChangeMs: 0 };
const send = (m: object) => process.send!(m);
const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);

function setUp(delta: number): void {
  st.up += delta;
  st.lastChangeMs = wallNow();
}

function backoff(s: Slot): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(s.attempt, 16));
  return cap / 2 + Math.random() * (cap / 2);
}

/**
 * After a failure, any other broker at random, as a load balancer would send a new connection. Moving
 * to "the next one" instead would stack every device of a rolling restart onto the broker restarted
 * last (all sessions on one replica, then all down at once when it restarts).
 */
function moveOn(s: Slot): void {
  const n = s.d.ports.length;
  if (n > 1) s.portIndex += 1 + Math.floor(Math.random() * (n - 1));
}

function schedule(s: Slot, delayMs: number): void {
  if (!holding) return;
  s.timer = setTimeout(() => {
    s.timer = undefined;
    waiting.push(s);
    pump();
  }, delayMs);
}

function pump(): void {
  while (holding && inFlight < concurrency && waiting.length) void connect(waiting.shift()!);
}

async function connect(s: Slot): Promise<void> {
  inFlight += 1;
  const port = s.d.ports[s.portIndex % s.d.ports.length]!;
  try {
    const session = await openLean({ ...s.d, port }, 15_000);
    if (!holding) {
      session.socket.destroy();
      return;
    }
    if (session.returnCode !== 0) {
      bump(st.refused, String(session.returnCode));
      session.socket.destroy();
      s.attempt += 1;
      moveOn(s);
      schedule(s, backoff(s));
      return;
    }
    st.accepted += 1;
    s.attempt = 0;
    s.session = session;
    setUp(1);
    session.socket.once('close', () => {
      if (s.session !== session) return;
      s.session = undefined;
      setUp(-1);
      if (!holding) return;
      st.closedByServer += 1;
      // A device whose session was ended comes back after a short random pause, to the next broker if
      // its own is going away (it cannot tell, so it tries the next one after a failure).
      schedule(s, Math.random() * minMs);
    });
  } catch (e) {
    bump(st.failed, (e as Error).message.replace(/\d+/g, 'N').slice(0, 60));
    s.attempt += 1;
    moveOn(s);
    schedule(s, backoff(s));
  } finally {
    inFlight -= 1;
    pump();
  }
}

function status(): HeldStatus {
  const upByGroup: Record<string, number> = {};
  const upByPort: Record<string, number> = {};
  for (const s of slots) {
    if (!s.session) continue;
    bump(upByGroup, s.d.group);
    bump(upByPort, String(s.session.socket.remotePort));
  }
  return { total: slots.length, up: st.up, upByGroup, upByPort, refused: st.refused, failed: st.failed, closedByServer: st.closedByServer, accepted: st.accepted, lastChangeMs: st.lastChangeMs };
}

type Msg = { type: 'hold'; devices: HeldDevice[]; concurrency: number; minMs: number; maxMs: number } | { type: 'status' } | { type: 'drop' } | { type: 'end' };

process.on('message', (m: Msg) => {
  try {
    if (m.type === 'hold') {
      holding = true;
      concurrency = m.concurrency;
      minMs = m.minMs;
      maxMs = m.maxMs;
      const added = m.devices.map((d) => ({ d, attempt: 0, portIndex: 0 }) as Slot);
      slots.push(...added);
      waiting.push(...added);
      pump();
      send({ type: 'holding', n: added.length });
    } else if (m.type === 'status') {
      send({ type: 'status', ...status() });
    } else if (m.type === 'drop') {
      let n = 0;
      for (const s of slots) {
        if (!s.session) continue;
        const session = s.session;
        s.session = undefined;
        setUp(-1);
        session.socket.destroy();
        n += 1;
        // The device saw its connection drop: it reconnects after a short random pause.
        schedule(s, Math.random() * minMs);
      }
      send({ type: 'dropped', n });
    } else {
      holding = false;
      for (const s of slots) {
        if (s.timer) clearTimeout(s.timer);
        s.session?.socket.destroy();
        s.session = undefined;
      }
      slots = [];
      waiting.length = 0;
      st.up = 0;
      send({ type: 'ended' });
    }
  } catch (e) {
    send({ type: 'failed', message: (e as Error).message });
  }
});
process.on('disconnect', () => {
  for (const s of slots) s.session?.socket.destroy();
  process.exit(0);
});
