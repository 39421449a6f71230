// Test fixture (imported by *.int.spec.ts only): account-settings as far as cert-registry needs it,
// a fake responder on NATS answering TokenVerify and AccountAncestry for a small tree
//   root ─┬─ acct-a ── acct-a1
//         └─ acct-b
// with a token (by name) per role.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { JetStreamManager } from 'nats';
import { AncestryRequest, RequestSubjects, TokenVerifyRequest, type Account, type Principal } from '@twoway/contracts';
import { Bus, CodedError } from '@twoway/nats';
import { NatsServer, Postgres, tempDir, waitFor } from '@twoway/testing';
import { REDACT_PATHS, type Logger } from '@twoway/telemetry';
import { loadConfig } from '@twoway/config';
import { CertRegistryService } from './service.js';
import { certRegistrySettings } from './config.js';

export const silent = { warn() {}, error() {} };

const t0 = '2026-01-01T00:00:00.000Z';
export const accounts: Record<string, Account> = {
  root: { id: 'root', name: 'Provider', parentId: null, createdAt: t0 },
  'acct-a': { id: 'acct-a', name: 'A', parentId: 'root', createdAt: t0 },
  'acct-a1': { id: 'acct-a1', name: 'A1', parentId: 'acct-a', createdAt: t0 },
  'acct-b': { id: 'acct-b', name: 'B', parentId: 'root', createdAt: t0 },
};
export const principals: Record<string, Principal> = {
  'admin-a': { tokenId: 'tok-admin-a', name: 'alice', accountId: 'acct-a', role: 'admin', provider: false },
  'operator-a': { tokenId: 'tok-operator-a', name: 'oscar', accountId: 'acct-a', role: 'operator', provider: false },
  'provisioner-a': { tokenId: 'tok-prov-a', name: 'pki-robot', accountId: 'acct-a', role: 'provisioner', provider: false },
  'admin-b': { tokenId: 'tok-admin-b', name: 'bob', accountId: 'acct-b', role: 'admin', provider: false },
};

/** account-settings as far as this service needs it. */
export async function fakeAccountSettings(url: string): Promise<Bus> {
  const bus = await Bus.connect({ servers: url, name: 'fake-account-settings', log: silent });
  bus.serve(RequestSubjects.TokenVerify, TokenVerifyRequest, (req) => {
    const p = principals[req.token];
    if (!p) throw new CodedError('UNAUTHENTICATED');
    return { principal: p };
  });
  bus.serve(RequestSubjects.AccountAncestry, AncestryRequest, (req) => {
    const chain: Account[] = [];
    for (let a = accounts[req.accountId]; a; a = a.parentId ? accounts[a.parentId] : undefined) chain.push(a);
    if (chain.length === 0) throw new CodedError('ACCOUNT_NOT_FOUND');
    return { ancestry: chain };
  });
  return bus;
}


/** A pino logger writing into memory, with the production redaction paths, to prove what is never logged. */
export function capturingLogger(): { log: Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  const log = pino({ level: 'trace', base: { service: 'cert-registry' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  return { log, text: () => chunks.join('') };
}

export interface Registry {
  svc: CertRegistryService;
  nats: NatsServer;
  /** A NATS client of the test's own (requests as a broker would send them). */
  client: Bus;
  jsm: JetStreamManager;
  logs: ReturnType<typeof capturingLogger>;
  dir: { path: string };
  /** A REST call with a token (by principal name, see `principals`), answered in-process. */
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, token: string | undefined, payload?: object): Promise<{ status: number; body: any }>;
  lastSeq(stream: string): Promise<number>;
  /** The `count` messages stored on `stream` after sequence `seq`, waiting for them to arrive. */
  eventsAfter(stream: string, seq: number, count: number): Promise<{ subject: string; data: any }[]>;
  stop(): Promise<void>;
}

/** cert-registry in-process on a real nats-server and SQLite or PostgreSQL, `env` added to its settings. */
export async function startRegistry(dialect: 'sqlite' | 'postgres', env: Record<string, string> = {}): Promise<Registry> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const dir = await tempDir();
    stops.push(() => dir[Symbol.asyncDispose]());
    const nats = await NatsServer.start();
    stops.push(() => nats.stop());
    let dbUrl: string | undefined;
    if (dialect === 'postgres') {
      const pg = await Postgres.start();
      stops.push(() => pg.stop());
      dbUrl = await pg.createDatabase('cert_registry');
    }
    const accountSettings = await fakeAccountSettings(nats.url);
    stops.push(() => accountSettings.stop());
    const client = await Bus.connect({ servers: nats.url, name: 'test-client', log: silent });
    stops.push(() => client.stop());
    const jsm = await client.jsm();
    const logs = capturingLogger();
    const cfg = loadConfig(certRegistrySettings, { TWOWAY_NATS_URL: nats.url, TWOWAY_DATA_DIR: dir.path, TWOWAY_HTTP_PORT: '0', ...(dbUrl ? { TWOWAY_DB_URL: dbUrl } : {}), ...env });
    const svc = await CertRegistryService.start(cfg, { log: logs.log });
    stops.push(() => svc.stop());
    const lastSeq = async (stream: string) => (await jsm.streams.info(stream)).state.last_seq;
    return {
      svc,
      nats,
      client,
      jsm,
      logs,
      dir,
      call: async (method, url, token, payload) => {
        const r = await svc.http.inject({ method, url, payload, headers: token ? { authorization: `Bearer ${token}` } : {} });
        return { status: r.statusCode, body: r.body ? (JSON.parse(r.body) as unknown) : undefined };
      },
      lastSeq,
      eventsAfter: async (stream, seq, count) => {
        await waitFor(async () => (await lastSeq(stream)) >= seq + count, { what: `${count} events on ${stream}` });
        const out: { subject: string; data: any }[] = [];
        for (let s = seq + 1; s <= seq + count; s++) {
          const m = await jsm.streams.getMessage(stream, { seq: s });
          out.push({ subject: m.subject, data: m.json() });
        }
        return out;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
