// Benchmark: CPU time account-settings spends per successful credential check, with the verified-password
// cache and without it (TTL 0: every check runs scrypt at the production cost), as in a reconnect storm
// of devices whose passwords this process verified before. The credential check runs in-process against
// a real SQLite database (no NATS: the request/reply around it costs the same either way). CPU time is
// process.cpuUsage(), which counts libuv's thread pool where scrypt runs, so contention on a shared machine
// does not inflate it. Also the memory one cache entry holds (heap and buffers, after GC).
//   node --expose-gc --import tsx services/account-settings/bench/verify.bench.ts [--devices 40] [--rounds 5] [--entries 100000]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { OutboxEntity, openDatabase } from '@twoway/persistence';
import { tempDir } from '@twoway/testing';
import { CredentialChecker } from '../src/credential-check.js';
import { AccountStore, PROVIDER_ACCOUNT_ID } from '../src/db/account-store.js';
import { AccountEntity, CredentialEntity, TokenEntity } from '../src/db/entities.js';
import { migrations } from '../src/db/migrations.js';
import { SYSTEM_ACTOR } from '../src/domain/events.js';
import { SCRYPT_LOG2_N, hashPassword } from '../src/domain/password-hash.js';
import { VerifiedPasswords } from '../src/domain/verified-passwords.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '40' }, rounds: { type: 'string', default: '5' }, entries: { type: 'string', default: '100000' } } });
const DEVICES = Number(values.devices);
const ROUNDS = Number(values.rounds);
const ENTRIES = Number(values.entries);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (the memory figure needs a full GC)');

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const limits = { maxFailures: 10, windowMs: 60_000, lockoutMs: 60_000, maxFailuresPerUsername: 100 };

await using dir = await tempDir();
const ds = await openDatabase({ dataDir: dir.path, defaultFile: 'bench.sqlite', entities: [AccountEntity, CredentialEntity, TokenEntity, OutboxEntity], migrations });
try {
  const store = new AccountStore(ds, { settle: async () => true });
  await store.bootstrap({ providerName: 'provider', token: 'bench-bootstrap-token-0123456789', actor: SYSTEM_ACTOR, deliver: async () => undefined });
  const password = (i: number) => `bench-device-password-${i}`;
  for (let i = 0; i < DEVICES; i++) {
    await store.createCredential(PROVIDER_ACCOUNT_ID, { username: `bench-${i}`, passwordHash: await hashPassword(password(i)), enabled: true, expiresAt: null }, SYSTEM_ACTOR);
  }

  /** CPU ms per check over `ROUNDS` passes of every device (after one pass that verifies each with scrypt). */
  const measure = async (ttlMs: number) => {
    const verified = new VerifiedPasswords({ maxEntries: 100_000, ttlMs });
    const checker = await CredentialChecker.create(store, { limits, verified });
    const pass = async () => {
      for (let i = 0; i < DEVICES; i++) {
        const r = await checker.verify({ key: `bench-${i}`, password: password(i), sourceAddress: '198.51.100.1' });
        if (!r.ok) throw new Error(`bench-${i} refused: ${r.reason}`);
      }
    };
    await pass();
    const perCheck: number[] = [];
    const wallPerCheck: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await pass();
      wallPerCheck.push((performance.now() - t0) / DEVICES);
      perCheck.push(cpuMs(process.cpuUsage(cpu)) / DEVICES);
    }
    return { cpuMs: median(perCheck), wallMs: median(wallPerCheck), hits: verified.hits, misses: verified.misses };
  };

  const without = await measure(0);
  const withCache = await measure(3_600_000);

  // Memory of one entry: a full cache of ENTRIES credentials against an empty one.
  const used = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const hash = await hashPassword('x', 10);
  const ids = Array.from({ length: ENTRIES }, (_, i) => randomUUID());
  const before = used();
  const full = new VerifiedPasswords({ maxEntries: ENTRIES, ttlMs: 3_600_000 });
  for (let i = 0; i < ENTRIES; i++) full.remember(ids[i]!, hash, password(i), 0);
  const bytesPerEntry = (used() - before) / full.size;
  // The lookup alone (an HMAC and a constant-time comparison), over the full cache.
  const lookupCpu = process.cpuUsage();
  for (let i = 0; i < ENTRIES; i++) if (!full.matches(ids[i]!, hash, password(i), 1)) throw new Error('the full cache missed');
  const lookupUs = (cpuMs(process.cpuUsage(lookupCpu)) * 1000) / ENTRIES;

  const f = (n: number, d = 3) => n.toFixed(d);
  console.log(`command: node --expose-gc --import tsx services/account-settings/bench/verify.bench.ts --devices ${DEVICES} --rounds ${ROUNDS} --entries ${ENTRIES}`);
  console.log(`scrypt N=2^${SCRYPT_LOG2_N}; ${DEVICES} devices, median of ${ROUNDS} passes, per successful check (DB reads included):`);
  console.log(`  without cache (TTL 0):  CPU ${f(without.cpuMs)} ms, wall ${f(without.wallMs)} ms   (hits ${without.hits}, misses ${without.misses})`);
  console.log(`  with cache:             CPU ${f(withCache.cpuMs)} ms, wall ${f(withCache.wallMs)} ms   (hits ${withCache.hits}, misses ${withCache.misses})`);
  console.log(`  ratio:                  ${f(without.cpuMs / withCache.cpuMs, 0)}x less CPU`);
  console.log(`  a storm of 10,000 devices: ${f((without.cpuMs * 10_000) / 1000, 1)} s of CPU without, ${f((withCache.cpuMs * 10_000) / 1000, 1)} s with`);
  console.log(`  the cache lookup alone:  CPU ${f(lookupUs, 1)} µs (HMAC-SHA256 and constant-time comparison)`);
  console.log(`memory: ${f(bytesPerEntry, 0)} bytes per entry (${ENTRIES} entries, UUID keys; heap + buffers after GC): ${f((bytesPerEntry * 100_000) / 2 ** 20, 1)} MiB at the default bound of 100,000`);
} finally {
  await ds.destroy();
}
