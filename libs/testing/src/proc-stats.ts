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
  const children = childrenOf(all);
  const cpuMs: Record<string, number> = {};
  const rssBytes: Record<string, number> = {};
  const pids: Record<string, number> = {};
  for (const r of roots) {
    let cpu = 0;
    let rss = 0;
    for (const pid of treeOf(all, children, r.pid)) {
      cpu += all.get(pid)!.cpuMs;
      rss += all.get(pid)!.rssBytes;
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

/**
 * CPU ms of `root` and each live descendant, by pid: to count a system across the restart of one of its
 * processes, where a tree sum would lose what the old process spent and count the new one twice.
 */
export async function treeCpuByPid(root: number): Promise<Map<number, number>> {
  const all = await snapshot();
  return new Map(treeOf(all, childrenOf(all), root).map((pid) => [pid, all.get(pid)!.cpuMs]));
}

/**
 * CPU ms spent from `before` to `after` (two `treeCpuByPid` readings, possibly of different roots after
 * a restart): a pid not in `before` is a process started meanwhile, counted whole; a process gone by
 * `after` counts nothing after `before` (exact for one killed with SIGKILL, which spends no more).
 */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, cpu] of after) ms += Math.max(0, cpu - (before.get(pid) ?? 0));
  return ms;
}

/** The process `root` and all its live descendants (e.g. to pin a whole system to one core). */
export async function treePids(root: number): Promise<number[]> {
  const all = await snapshot();
  return treeOf(all, childrenOf(all), root);
}

function childrenOf(all: Map<number, Stat>): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  return children;
}

function treeOf(all: Map<number, Stat>, children: Map<number, number[]>, root: number): number[] {
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
