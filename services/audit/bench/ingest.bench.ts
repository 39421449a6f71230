// Benchmark: audit events per second ingested by the audit service (durable consumer → batched
// transactions), on SQLite and PostgreSQL. A backlog is published first, then the service drains it.
//   node --import tsx services/audit/bench/ingest.bench.ts [--events N] [--batch N] [--no-postgres]
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { auditSubject, AuditTypes, Streams, AuditStoreConsumer, type AuditEvent } from '@twoway/contracts';
import { loadConfig } from '@twoway/config';
import { Bus } from '@twoway/nats';
import { createLogger } from '@twoway/telemetry';
import { NatsServer, Postgres, tempDir } from '@twoway/testing';
import { auditSettings } from '../src/config.js';
import { AuditService } from '../src/service.js';

const { values: a } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '500' },
    'no-postgres': { type: 'boolean', default: false },
  },
});
const N = Number(a.events);

async function main(): Promise<void> {
  console.log(`command: node --import tsx services/audit/bench/ingest.bench.ts --events ${N} --batch ${a.batch}${a['no-postgres'] ? ' --no-postgres' : ''}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  await using nats = await NatsServer.start();
  await using dir = await tempDir();
  const bus = await Bus.connect({ servers: nats.url, name: 'bench' });
  try {
    await bus.ensureStreams();
    const t0 = performance.now();
    const pending = new Set<Promise<void>>();
    for (let i = 0; i < N; i++) {
      const e: AuditEvent = {
        id: randomUUID(),
        type: AuditTypes.ConnectAccepted,
        time: new Date(Date.now() - (N - i)).toISOString(),
        account: `acct-${i % 20}`,
        accountPath: [`acct-${i % 20}`, 'root'],
        actor: { kind: 'device', id: `dev-${i}` },
        outcome: 'accepted',
        reason: 'OK',
        device: { clientId: `dev-${i % 1000}`, username: `user-${i % 1000}`, certificateFingerprint: 'ab'.repeat(32), certificateSubject: `CN=dev-${i}` },
        sourceAddress: '10.0.0.1:50000',
        traceId: randomUUID().replace(/-/g, ''),
        source: 'broker-0',
      };
      const p = bus.publishEvent(auditSubject(e.type), e);
      pending.add(p);
      void p.finally(() => pending.delete(p));
      if (pending.size >= 500) await Promise.race(pending);
    }
    await Promise.all(pending);
    console.log(`published ${N} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const dialects: ('sqlite' | 'postgres')[] = a['no-postgres'] ? ['sqlite'] : ['sqlite', 'postgres'];
    for (const dialect of dialects) {
      let pg: Postgres | undefined;
      try {
        let dbUrl: string | undefined;
        if (dialect === 'postgres') {
          pg = await Postgres.start();
          dbUrl = await pg.createDatabase('audit_bench');
        }
        // a fresh durable consumer per run: each store starts from the first event
        await (await bus.jsm()).consumers.delete(Streams.Audit.name, AuditStoreConsumer).catch(() => false);
        const cfg = loadConfig(auditSettings, {
          TWOWAY_NATS_URL: nats.url,
          TWOWAY_DATA_DIR: `${dir.path}/${dialect}`,
          TWOWAY_DB_URL: dbUrl,
          TWOWAY_HTTP_PORT: '0',
          TWOWAY_AUDIT_BATCH_SIZE: a.batch,
        });
        const start = performance.now();
        const svc = await AuditService.start(cfg, { log: createLogger('audit-bench', 'warn') });
        try {
          for (;;) {
            const [r] = (await svc.ds.query('SELECT count(*) AS n FROM audit_events')) as { n: number }[];
            if (Number(r!.n) >= N) break;
            await new Promise((res) => setTimeout(res, 50));
          }
          const s = (performance.now() - start) / 1000;
          console.log(`${dialect.padEnd(8)} ingested ${N} events in ${s.toFixed(2)} s: ${Math.round(N / s)} events/s (batch ${a.batch})`);
        } finally {
          await svc.stop();
        }
      } catch (e) {
        console.log(`${dialect}: skipped (${(e as Error).message.split('\n')[0]})`);
      } finally {
        await pg?.stop();
      }
    }
  } finally {
    await bus.stop();
  }
}

await main();
