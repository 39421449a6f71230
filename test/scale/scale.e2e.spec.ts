// The fleet-scale run reduced to what CI affords (docs/scaling.md; `npm run scale` is the full size):
// 3 broker replicas, a 3-node NATS cluster with R3 streams, PostgreSQL, every service its own process;
// a trust set larger than NATS max_payload (paged), 500 live mTLS sessions held by devices in another
// process; a storm, an intermediate suspended (every session below it closed on every replica, no
// other), one NATS node killed during traffic and a revocation. Every decision is checked by the run.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '@twoway/testing';
import { runScale, table } from './scenario.js';

/** One log line, short: time, level, message and the error's message (pino JSON), not the stack. */
function brief(line: string): string {
  try {
    const { time, level, msg, err, ...rest } = JSON.parse(line) as { time?: string; level?: number; msg?: string; err?: { message?: string; code?: string } } & Record<string, unknown>;
    delete rest.service;
    delete rest.pid;
    delete rest.hostname;
    const error = err ? ` [${err.code ?? ''}${err.code ? ' ' : ''}${err.message ?? ''}]` : '';
    return `${time?.slice(11) ?? ''} ${level ?? ''} ${msg ?? ''}${error} ${JSON.stringify(rest)}`.slice(0, 300);
  } catch {
    return line.slice(0, 300);
  }
}

describe('fleet scale, reduced', () => {
  // Its own bound: a deployment of 9 processes and 500 TLS sessions takes minutes on 2 shared cores.
  it('500 sessions on 3 replicas and a 3-node NATS cluster: storm, suspension, NATS node kill, all decided right', { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    await using logs = await tempDir('twoway-scale-logs-');
    const r = await runScale({
      logDir: logs.path,
      pinned: 1_700,
      sessions: 500,
      perIntermediate: 250,
      devicesPerCredential: 10,
      brokers: 3,
      concurrency: 100,
      phases: ['storm', 'suspend', 'nats-kill'],
      drainWindowMs: 3_000,
      log: (l) => {
        lines.push(l);
        if (!l.includes('"level"')) console.log(l); // progress and figures as they come
      },
    }).catch(async (e: Error) => {
      // Every process's warnings and errors, without the per-connect lines of a saturated machine.
      const notes: string[] = [];
      for (const f of await readdir(logs.path)) {
        const text = await readFile(join(logs.path, f), 'utf8');
        const keep = text.split('\n').filter((l) => l && !/connect (not decided|undecidable|rejected)/.test(l)).slice(-40);
        notes.push(`--- ${f} ---`, ...keep.map(brief));
      }
      // The whole logs outlive the test's temporary directory, for a closer look.
      const kept = join(tmpdir(), `twoway-scale-e2e-logs-${Date.now()}`);
      await cp(logs.path, kept, { recursive: true }).catch(() => undefined);
      throw new Error(`${e.message}\n(all process logs in ${kept})\n${notes.join('\n')}`);
    });
    console.log(table(r.rows));
    assert.ok(r.trustSetPemBytes > 1_048_576, `the trust set is larger than NATS max_payload (${r.trustSetPemBytes} bytes of PEM)`);
    assert.equal(r.registered, 1_700 + 1 + 2);
    const phases = new Set(r.rows.map((x) => x.phase));
    for (const p of ['connect', 'storm', 'suspend', 'nats-kill']) assert.ok(phases.has(p), `phase ${p} ran`);
  });
});
