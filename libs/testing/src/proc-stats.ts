// CPU time and resident memory of process trees, read from /proc (Linux): what a system costs is the
// sum over every process it needs, children included (PostgreSQL forks a backend per connection).
import { readdir, readFile } from 'node:fs/promises';

interface Stat {
  ppid: number;
  cpuMs: number;
  rssBytes: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux
const PAGE = 4096;

async function snapshot(): Promise<Map<number, Stat>> {
  const out = new Map<number, Stat>();
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = await readFile(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may hold spaces) start at state (field 3).
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, rssBytes: Number(f[21]) * PAGE });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export interface TreeStats {
  /** User + system CPU ms of each named root and all its live descendants. */
  cpuMs: Record<string, number>;
  rssBytes: Record<string, number>;
  pid: Record<string, number>;
}

/** CPU and RSS of each root process and its descendants, by the root's name. */
export async function processTreeStats(roots: { name: string; pid: number }[]): Promise<TreeStats> {
  const all = await snapshot();
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const cpuMs: Record<string, number> = {};
  const rssBytes: Record<string, number> = {};
  const pids: Record<string, number> = {};
  for (const r of roots) {
    let cpu = 0;
    let rss = 0;
    const stack = [r.pid];
    while (stack.length) {
      const pid = stack.pop()!;
      const s = all.get(pid);
      if (!s) continue;
      cpu += s.cpuMs;
      rss += s.rssBytes;
      stack.push(...(children.get(pid) ?? []));
    }
    cpuMs[r.name] = (cpuMs[r.name] ?? 0) + cpu;
    rssBytes[r.name] = (rssBytes[r.name] ?? 0) + rss;
    pids[r.name] = r.pid;
  }
  return { cpuMs, rssBytes, pid: pids };
}

/**
 * CPU ms spent by each name between two readings. A process restarted meanwhile counts its new
 * life only (what the old one spent after `before` is not seen).
 */
export function cpuDelta(before: TreeStats, after: TreeStats): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.cpuMs)) d[k] = before.pid[k] === after.pid[k] ? Math.max(0, v - (before.cpuMs[k] ?? 0)) : v;
  return d;
}

/** The process `root` and all its live descendants (e.g. to pin a whole system to one core). */
export async function treePids(root: number): Promise<number[]> {
  const all = await snapshot();
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (!all.has(pid)) continue;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
