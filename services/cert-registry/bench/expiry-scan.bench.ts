// Benchmark: what cert-registry's expiry scan costs on a large registry, on SQLite and PostgreSQL. N
// registrations over 100 accounts, of which a share ends within the warning window: the first scan
// writes a notice and its audit event for each of those (published through the outbox), the next one
// finds nothing to write (the steady state, every TWOWAY_EXPIRY_SCAN_INTERVAL_MS).
//   node --import tsx services/cert-registry/bench/expiry-scan.bench.ts [--registrations N] [--expiring N] [--no-postgres]
import { parseArgs } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { DAY_MS, type Account, type Principal } from '@twoway/contracts';
import { loadConfig } from '@twoway/config';
import { createLogger } from '@twoway/telemetry';
import { NatsServer, Postgres, tempDir } from '@twoway/testing';
import { certRegistrySettings } from '../src/config.js';
import { CertificateEntity, type CertificateRow } from '../src/db/entities.js';
import { CertRegistryService } from '../src/service.js';

const { values: a } = parseArgs({ options: { registrations: { type: 'string' }, expiring: { type: 'string' }, 'no-postgres': { type: 'boolean' } } });
const N = Number(a.registrations ?? 100_000);
const EXPIRING = Number(a.expiring ?? 2_000);
const ACCOUNTS = 100;

/** The registry's view of account-settings: every account directly below the root. */
const resolver = {
  principal: async (): Promise<Principal> => ({ tokenId: 't', name: 'bench', accountId: 'root', role: 'admin', provider: true }),
  ancestry: async (id: string): Promise<Account[]> => [
    { id, name: id, parentId: 'root', createdAt: new Date(0).toISOString() },
    { id: 'root', name: 'root', parentId: null, createdAt: new Date(0).toISOString() },
  ],
};

/** Rows as a registration writes them (the PEM is not read by the scan). */
function rows(): CertificateRow[] {
  const now = Date.now();
  return Array.from({ length: N }, (_, i) => ({
    id: randomUUID(),
    accountId: `acct-${i % ACCOUNTS}`,
    name: `cert ${i}`,
    usage: 'MUTUAL_AUTHENTICATION' as const,
    status: 'VALID' as const,
    fingerprint: randomBytes(32).toString('hex'),
    subject: `CN=device ${i}`,
    issuer: 'CN=bench root',
    serial: i.toString(16),
    notBefore: new Date(now - DAY_MS),
    // The first EXPIRING end within 1–29 days, the others in one to five years.
    notAfter: new Date(now + (i < EXPIRING ? (1 + (i % 29)) * DAY_MS : (365 + (i % 1460)) * DAY_MS)),
    kind: 'leaf' as const,
    keyType: 'EC P-256',
    pem: '-',
    createdAt: new Date(now),
    updatedAt: new Date(now),
    createdBy: 'bench',
  }));
}

async function main(): Promise<void> {
  console.log(`command: node --import tsx services/cert-registry/bench/expiry-scan.bench.ts --registrations ${N} --expiring ${EXPIRING}${a['no-postgres'] ? ' --no-postgres' : ''}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  await using nats = await NatsServer.start();
  const dialects: ('sqlite' | 'postgres')[] = a['no-postgres'] ? ['sqlite'] : ['sqlite', 'postgres'];
  for (const dialect of dialects) {
    await using dir = await tempDir();
    let pg: Postgres | undefined;
    try {
      const dbUrl = dialect === 'postgres' ? await (pg = await Postgres.start()).createDatabase('expiry_bench') : undefined;
      const cfg = loadConfig(certRegistrySettings, {
        TWOWAY_NATS_URL: nats.url,
        TWOWAY_DATA_DIR: dir.path,
        TWOWAY_HTTP_PORT: '0',
        TWOWAY_EXPIRY_SCAN_INTERVAL_MS: String(24 * 3600 * 1000),
        ...(dbUrl ? { TWOWAY_DB_URL: dbUrl } : {}),
      });
      const svc = await CertRegistryService.start(cfg, { log: createLogger('cert-registry', 'warn'), resolver });
      try {
        await svc.expiry.scan();
        const all = rows();
        for (let i = 0; i < all.length; i += 500) await svc.ds.getRepository(CertificateEntity).insert(all.slice(i, i + 500));
        const time = async () => {
          const t0 = performance.now();
          const r = await svc.expiry.scan();
          return { ms: performance.now() - t0, written: r.written.expiring + r.written.expired };
        };
        const first = await time();
        const steady = [await time(), await time(), await time()];
        const counts = svc.expiry.counts!;
        console.log(
          `${dialect}: ${N} registrations, ${counts.expiring} expiring in ${counts.accounts.length} accounts — ` +
            `first scan ${first.ms.toFixed(0)} ms (${first.written} notices and audit events written and published), ` +
            `steady scans ${steady.map((s) => s.ms.toFixed(0)).join(' / ')} ms (${steady.reduce((n, s) => n + s.written, 0)} written)`,
        );
      } finally {
        await svc.stop();
      }
    } finally {
      await pg?.stop();
    }
  }
}

await main();
