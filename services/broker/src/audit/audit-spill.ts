// Audit events that cannot be published now (NATS away, or the in-memory queue full) are appended to
// segment files under $TWOWAY_DATA_DIR/audit-spill/<broker id>/, one JSON event a line, and replayed
// oldest segment first when NATS is there; a segment is deleted once every event in it was published.
// Events keep their ids, so one published twice (a crash between publish and delete) is stored once:
// JetStream deduplicates by message id and the audit store by event id.
//
// Durability: each append is a write(2) before push() returns, so a killed process (kill -9, OOM)
// loses nothing; the file is fdatasync'ed at most AUDIT_SPILL_FSYNC_INTERVAL_MS after an append (and at
// roll and close), so a power or kernel failure loses at most that much. A line cut short by a crash
// is skipped on replay.
//
// Bound: at most `maxBytes` on disk. Beyond it the oldest segment is deleted, its events counted in
// the drop metric and reported by an `audit.events_dropped` audit event, written in their place.
//
// A replica that died leaves its directory behind. At start a broker adopts (renames into its own
// directory) every directory whose owner ran on this host and is no longer alive, or had our own pid
// (a container restarted: pid 1 again), so a restarted broker replays what its predecessor spilled
// even when its id (hostname-pid) changed. Directories of live replicas are left alone.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { closeSync, fdatasyncSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { AuditTypes, type AuditEvent } from '@twoway/contracts';
import type { Logger } from '@twoway/telemetry';

export const AUDIT_SPILL_FSYNC_INTERVAL_MS = 1_000;
/** Largest segment: a replay reads one whole segment into memory. */
export const AUDIT_SPILL_SEGMENT_MAX_BYTES = 4 * 1024 * 1024;
const OWNER_FILE = 'owner.json';
const SEGMENT = /^segment-(\d{12})\.ndjson$/;
/** Spill directories open in this process (several replicas run in one process in tests). */
const OPEN_HERE = new Set<string>();

interface Segment {
  seq: number;
  path: string;
  bytes: number;
  /** Lines in it, drop reports included. */
  events: number;
  /** Of which `audit.events_dropped` reports, and the drops they report. */
  reports: number;
  reported: number;
}

/** A segment's counts from its text. */
function tally(text: string): Pick<Segment, 'bytes' | 'events' | 'reports' | 'reported'> {
  const events = parseLines(text);
  const reports = events.filter((e) => e.type === AuditTypes.AuditEventsDropped);
  return { bytes: Buffer.byteLength(text), events: events.length, reports: reports.length, reported: reports.reduce((n, e) => n + Number(e.detail?.dropped ?? 0), 0) };
}

export interface AuditSpillOptions {
  /** $TWOWAY_DATA_DIR/audit-spill */
  dir: string;
  /** This replica's id: its own subdirectory, and the `source` of the drop event. */
  ownerId: string;
  maxBytes: number;
  segmentBytes?: number;
  log: Logger;
  /** Events deleted unpublished because the bound was reached. */
  onDrop: (n: number) => void;
  /** For tests: whether a pid is alive. */
  isAlive?: (pid: number) => boolean;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class AuditSpill {
  private readonly segments: Segment[] = [];
  private fd: number | undefined;
  private writing: Segment | undefined;
  /** The segment handed out by takeOldest() and not yet done: never evicted meanwhile. */
  private reading: Segment | undefined;
  private nextSeq = 1;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Events dropped on arrival (nothing could be evicted for them), reported with the next eviction. */
  private unreported = 0;
  private readonly segmentBytes: number;

  private constructor(private readonly o: AuditSpillOptions, readonly path: string) {
    this.segmentBytes = Math.max(1024, Math.min(o.segmentBytes ?? AUDIT_SPILL_SEGMENT_MAX_BYTES, Math.floor(o.maxBytes / 4)));
  }

  static async open(o: AuditSpillOptions): Promise<AuditSpill> {
    const own = join(o.dir, o.ownerId.replace(/[^A-Za-z0-9._-]/g, '_'));
    await mkdir(own, { recursive: true });
    const spill = new AuditSpill(o, own);
    OPEN_HERE.add(own);
    await spill.load(own);
    await spill.adoptOrphans(own);
    await writeFile(join(own, OWNER_FILE), JSON.stringify({ host: hostname(), pid: process.pid }));
    if (spill.events) o.log.warn({ events: spill.events, bytes: spill.bytes, dir: own }, 'audit events spilled earlier: replaying them');
    return spill;
  }

  /** Events on disk, not yet published. */
  get events(): number {
    return this.segments.reduce((n, s) => n + s.events, 0);
  }

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  private async load(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort()) {
      const path = join(dir, name);
      const seq = Number(SEGMENT.exec(name)![1]);
      this.segments.push({ seq, path, ...tally(await readFile(path, 'utf8')) });
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
  }

  private async adoptOrphans(own: string): Promise<void> {
    const isAlive = this.o.isAlive ?? alive;
    let entries: string[];
    try {
      entries = await readdir(this.o.dir);
    } catch {
      return;
    }
    for (const name of entries.sort()) {
      const dir = join(this.o.dir, name);
      if (dir === own || !(await stat(dir)).isDirectory()) continue;
      let owner: { host?: string; pid?: number };
      try {
        owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as typeof owner;
      } catch {
        continue; // not ours to judge (being created, or not a spill directory)
      }
      // Another replica in this very process (tests run several) is alive too; the same pid without
      // such a replica is a previous life of this process id (a container restarted as pid 1).
      if (owner.host !== hostname() || typeof owner.pid !== 'number' || OPEN_HERE.has(dir) || (owner.pid !== process.pid && isAlive(owner.pid))) continue;
      const names = (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort();
      for (const n of names) {
        const seq = this.nextSeq++;
        const path = join(own, segmentName(seq));
        try {
          await rename(join(dir, n), path);
        } catch {
          continue; // another replica starting at the same moment took it
        }
        this.segments.push({ seq, path, ...tally(await readFile(path, 'utf8')) });
      }
      await rm(dir, { recursive: true, force: true });
      if (names.length) this.o.log.warn({ from: dir, segments: names.length }, 'adopted the audit spill of a replica that is gone');
    }
  }

  /** Append one event (synchronously written: a crash after this returns does not lose it). */
  append(ev: AuditEvent): void {
    if (this.closed) return;
    const line = JSON.stringify(ev) + '\n';
    const len = Buffer.byteLength(line);
    if (this.bytes + len > this.o.maxBytes) this.evict(len);
    if (this.bytes + len > this.o.maxBytes) {
      // Nothing left to evict (the bound is smaller than what is being replayed): this one goes.
      this.unreported += 1;
      this.o.onDrop(1);
      this.o.log.warn({ dropped: ev.id, type: ev.type }, 'audit spill full: event dropped');
      return;
    }
    this.write(line, len);
  }

  private write(line: string, len: number, reporting = 0): void {
    if (!this.writing || this.writing.bytes + len > this.segmentBytes) this.roll();
    writeSync(this.fd!, line);
    this.writing!.bytes += len;
    this.writing!.events += 1;
    if (reporting) {
      this.writing!.reports += 1;
      this.writing!.reported += reporting;
    }
    this.dirty = true;
    this.syncTimer ??= setTimeout(() => {
      this.syncTimer = undefined;
      this.sync();
    }, AUDIT_SPILL_FSYNC_INTERVAL_MS);
  }

  /**
   * Delete the oldest segments (not the one being replayed) until `len` more bytes fit; audit the loss.
   * A deleted segment's own drop reports are carried into the new one, so the total stays reported.
   */
  private evict(len: number): void {
    let dropped = 0;
    let carried = this.unreported;
    while (this.bytes + len > this.o.maxBytes) {
      const victim = this.segments.find((s) => s !== this.reading);
      if (!victim) break;
      if (victim === this.writing) this.closeWriting();
      this.segments.splice(this.segments.indexOf(victim), 1);
      rmSyncQuiet(victim.path);
      dropped += victim.events - victim.reports;
      carried += victim.reported;
    }
    if (dropped + carried === 0) return;
    this.unreported = 0;
    if (dropped) this.o.onDrop(dropped);
    this.o.log.warn({ dropped, maxBytes: this.o.maxBytes }, 'audit spill full: oldest spilled events dropped');
    const report: AuditEvent = {
      id: randomUUID(),
      type: AuditTypes.AuditEventsDropped,
      time: new Date().toISOString(),
      account: null,
      actor: { kind: 'system', id: this.o.ownerId },
      source: this.o.ownerId,
      detail: { dropped: dropped + carried, maxBytes: this.o.maxBytes },
    };
    const line = JSON.stringify(report) + '\n';
    this.write(line, Buffer.byteLength(line), dropped + carried);
  }

  private roll(): void {
    this.closeWriting();
    const seq = this.nextSeq++;
    const seg: Segment = { seq, path: join(this.path, segmentName(seq)), bytes: 0, events: 0, reports: 0, reported: 0 };
    // The directory is ours, but an operator clearing the data dir must not break the next write.
    mkdirSync(this.path, { recursive: true });
    this.fd = openSync(seg.path, 'a');
    this.writing = seg;
    this.segments.push(seg);
  }

  private closeWriting(): void {
    if (this.fd === undefined) return;
    this.sync();
    closeSync(this.fd);
    this.fd = undefined;
    this.writing = undefined;
  }

  private sync(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    if (!this.dirty || this.fd === undefined) return;
    fdatasyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * The oldest segment's events, to publish; `done()` once all are published deletes it. Appends go
   * on into a new segment meanwhile. Undefined when nothing is spilled.
   */
  async takeOldest(): Promise<{ events: AuditEvent[]; done(): void } | undefined> {
    const seg = this.segments[0];
    if (!seg || this.closed) return undefined;
    if (seg === this.writing) this.closeWriting();
    this.reading = seg;
    const events = parseLines(await readFile(seg.path, 'utf8'));
    return {
      events,
      done: () => {
        if (this.reading === seg) this.reading = undefined;
        const i = this.segments.indexOf(seg);
        if (i >= 0) this.segments.splice(i, 1);
        rmSyncQuiet(seg.path);
      },
    };
  }

  /** Give a taken segment back unpublished (publishing failed): it stays first in line. */
  release(): void {
    this.reading = undefined;
  }

  /** Sync and close; an empty directory is removed, a non-empty one waits for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    OPEN_HERE.delete(this.path);
    this.closeWriting();
    for (const s of this.segments.filter((x) => x.events === 0)) {
      rmSyncQuiet(s.path);
      this.segments.splice(this.segments.indexOf(s), 1);
    }
    if (this.segments.length === 0) await rm(this.path, { recursive: true, force: true });
  }
}

const segmentName = (seq: number) => `segment-${String(seq).padStart(12, '0')}.ndjson`;

function parseLines(text: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as AuditEvent);
    } catch {
      /* a line cut short by a crash */
    }
  }
  return out;
}

function rmSyncQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
