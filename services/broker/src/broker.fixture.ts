// Test fixture (imported by *.int.spec.ts only): a real nats-server, a broker started in-process like
// production, fake account-settings and cert-registry responders on NATS over in-memory data, the
// audit subject collected, and an MQTT client helper that returns the CONNACK.
import { randomUUID } from 'node:crypto';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { DeliverPolicy, StringCodec } from 'nats';
import {
  ChangeSubjects, CredentialChainGetRequest, CredentialChainRecordRequest, CredentialVerifyRequest, RequestSubjects, RevokedSerialsRequest, SettingsGetRequest, Streams, TrustSetDigestRequest, TrustSetRequest,
  type AuditEvent, type CertStatus, type RevocationChange, type Settings, type TrustEntry,
} from '@twoway/contracts';
import { Bus, CodedError } from '@twoway/nats';
import { NatsServer, makeTestPki, tempDir, waitFor, type TestPki } from '@twoway/testing';
import { loadConfig } from '@twoway/config';
import { trustDigest, type Issued } from '@twoway/pki';
import { brokerSettings } from './config.js';
import { Broker, type BrokerDeps, type RunningBroker } from './service.js';

export const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sc = StringCodec();

export const PROVIDER = 'provider';
export const PASSWORD = 'correct horse battery';

export const settingsOf = (tls: boolean, mtls: boolean, identity: Partial<Settings['identity']> = {}): Settings => ({
  tls: { enabled: tls },
  mutualTls: { available: true, enabled: mtls },
  identity: { bindCertificateTo: 'none', credentialLookup: 'username', ...identity },
});

export interface Attempt {
  connack?: IConnackPacket;
  client: MqttClient;
  error?: Error;
}

/** The messages a client receives from now on, as `topic:payload`, in order. */
export function received(client: MqttClient): string[] {
  const out: string[] = [];
  client.on('message', (t, p) => out.push(`${t}:${p.toString()}`));
  return out;
}

/** A live session's end, or a failure naming it after 10 s (a change that did not reach it). */
export const sessionClosed = (a: Attempt): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (a.client.disconnected) return resolve();
    const t = setTimeout(() => reject(new Error(`the session of ${a.client.options.clientId} was not ended within 10 s`)), 10_000);
    a.client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** The whole CONNACK of MQTT 3.1.1 as the `mqtt` package decodes it. */
export const connack = (returnCode: number) => ({ cmd: 'connack', retain: false, qos: 0, dup: false, length: 2, topic: null, payload: null, sessionPresent: false, returnCode });

export interface AttemptOptions {
  device?: Issued;
  clientId: string;
  username?: string;
  password?: string;
  /** MQTT over TLS (default), or over secure WebSocket on the broker's wss port (TWOWAY_MQTT_WSS_PORT). */
  transport?: 'mqtts' | 'wss';
}

export interface FakeCredential {
  accountId: string;
  id: string;
  delayMs?: number;
  overloaded?: boolean;
  lockAfter?: number;
  failures?: number;
  /** Accepted only on a verified chain (what account-settings answers as `requireCertificate`). */
  requireCertificate?: boolean;
}

export interface Fixture {
  nats: NatsServer;
  bus: Bus;
  broker: RunningBroker;
  pki: TestPki;
  dir: string;
  /** Account id → settings, answered by the fake account-settings (ancestry: [account, PROVIDER]). */
  accounts: Record<string, Settings>;
  /**
   * Username → credential, all with PASSWORD; `delayMs` makes the fake account-settings answer late,
   * `overloaded` answer OVERLOADED, and `lockAfter` answer RATE_LIMITED after that many wrong passwords
   * from any address, unless the broker says the chain verified (account-settings' username-wide bound).
   */
  credentials: Map<string, FakeCredential>;
  /** What the fake cert-registry answers. */
  registry: TrustEntry[];
  /** Registrations per page of the fake cert-registry's trust-set replies (default: all in one). */
  trustPageSize: number;
  /** Trust-set pages (by the `after` that asks for them) the fake cert-registry sheds OVERLOADED, and how many times more. */
  shedTrustPagesAfter: Map<string, number>;
  /** The fake cert-registry answers a trust-set digest this much later (a registry scanning a large set). */
  digestDelayMs: number;
  /** Request subjects whose fake owner answers with an error (an owner that is up but failing). */
  failing: Set<string>;
  /** How many trust-set requests the fake cert-registry has answered. */
  readonly trustSetRequests: number;
  /** How many trust-set digests the fake cert-registry has answered. */
  readonly trustDigestRequests: number;
  /** How many credential checks the fake account-settings has answered. */
  readonly credentialRequests: number;
  /** Serials per page of the fake cert-registry's revoked-serials replies. */
  serialPageSize: number;
  /** How many revoked-serials pages the fake cert-registry has answered. */
  readonly revokedSerialsRequests: number;
  /**
   * Set a registered CA's revocation data in the fake registry (its CRL's serials and dates, its
   * revoked-serial entries; normalised hex) and publish `cert.revocation_changed`, as cert-registry does.
   */
  setRevocation(entryId: string, r: { crl?: string[]; manual?: string[]; crlDates?: { thisUpdate: string; nextUpdate: string | null } }, change: RevocationChange): Promise<void>;
  audit: AuditEvent[];
  register(id: string, c: Issued, status: CertStatus, accountId?: string): void;
  attempt(o: AttemptOptions): Promise<Attempt>;
  end(a: Attempt): Promise<void>;
  auditFor(clientId: string, type?: string): Promise<AuditEvent>;
  /**
   * Publish a change event as cert-registry's outbox relay does: announced on core NATS, then stored in
   * the CHANGES stream (`via` one of them alone: 'live' is a stream that cannot store, 'stream' an
   * announcement that never arrived). `id`: the event's id (a new one by default).
   */
  publishChange(subject: string, type: string, account: string, data: object, o?: { via?: 'both' | 'live' | 'stream'; id?: string }): Promise<void>;
  /** Change a registration's status in the fake registry and publish its `cert.status_changed`, as cert-registry does. */
  setCertStatus(entryId: string, status: CertStatus): Promise<void>;
  /** An outage: stop nats-server (its store is kept) … */
  stopNats(): Promise<void>;
  /** … and start it again on the same port and store. */
  startNats(): Promise<void>;
  /** Another broker replica on the same NATS (same fake owners), stopped with the fixture. */
  startReplica(id: string, deps?: Partial<BrokerDeps>): Promise<RunningBroker>;
  /** Connect to a given replica. */
  attemptOn(b: RunningBroker, o: AttemptOptions): Promise<Attempt>;
  stop(): Promise<void>;
}

/**
 * `o.natsUrl`: run on NATS servers the caller owns (e.g. a NatsCluster: brokers and fake owners get
 * every URL); then `nats`, `stopNats` and `startNats` are not available, and `audit` stays empty
 * (read TWOWAY_AUDIT from the stream instead).
 */
export async function startFixture(env: Record<string, string> = {}, deps: Partial<BrokerDeps> = {}, o: { natsUrl?: string } = {}): Promise<Fixture> {
  const dir = await tempDir();
  const external = o.natsUrl;
  let nats = external ? undefined : await NatsServer.start();
  const first = nats;
  const natsUrl = () => external ?? nats!.url;
  const own = () => {
    if (!nats) throw new Error('this fixture runs on NATS servers the test owns');
    return nats;
  };
  // The current server (after an outage, a new one on the same store), then the first one's store.
  const stops: (() => Promise<void>)[] = [() => dir[Symbol.asyncDispose](), async () => { if (nats) await nats.stop().then(() => first!.stop()); }];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const bus = await Bus.connect({ servers: natsUrl(), name: 'test-owners', log, streamReplicas: Number(env.TWOWAY_NATS_REPLICAS ?? 1) });
    stops.push(() => bus.stop());
    await bus.ensureStreams();
    const pki = await makeTestPki();
    const accounts: Record<string, Settings> = {};
    const credentials = new Map<string, FakeCredential>();
    const registry: TrustEntry[] = [];
    const audit: AuditEvent[] = [];
    const failing = new Set<string>();

    let credentialRequests = 0;
    bus.serve(RequestSubjects.CredentialVerify, CredentialVerifyRequest, async (req) => {
      credentialRequests += 1;
      const c = credentials.get(req.key);
      if (!c) return { ok: false, reason: 'BAD_CREDENTIALS' };
      if (c.overloaded) throw new CodedError('OVERLOADED');
      if (c.delayMs) await new Promise((r) => setTimeout(r, c.delayMs));
      if (c.lockAfter !== undefined && (c.failures ?? 0) >= c.lockAfter && !req.chainVerified) return { ok: false, reason: 'RATE_LIMITED', accountId: c.accountId, ancestry: [c.accountId, PROVIDER] };
      if (req.password !== PASSWORD) {
        c.failures = (c.failures ?? 0) + 1;
        return { ok: false, reason: 'BAD_CREDENTIALS', accountId: c.accountId, ancestry: [c.accountId, PROVIDER] };
      }
      return { ok: true, accountId: c.accountId, credentialId: c.id, username: req.key, settings: accounts[c.accountId], ancestry: [c.accountId, PROVIDER], ...(c.requireCertificate !== undefined ? { requireCertificate: c.requireCertificate } : {}) };
    });
    // The verified path each credential last connected with (account-settings keeps it in its database).
    const chains = new Map<string, string[]>();
    bus.serve(RequestSubjects.CredentialChainRecord, CredentialChainRecordRequest, (req) => {
      const same = chains.get(req.credentialId)?.join() === req.path.join();
      chains.set(req.credentialId, req.path);
      return { recorded: !same };
    });
    bus.serve(RequestSubjects.CredentialChainGet, CredentialChainGetRequest, (req) => ({ path: chains.get(req.credentialId) ?? null }));
    bus.serve(RequestSubjects.SettingsGet, SettingsGetRequest, (req) => ({ accountId: req.accountId, settings: accounts[req.accountId]!, ancestry: [req.accountId, PROVIDER] }));
    // The revoked serials of each CA registration, as cert-registry pages them ((serial, source) order).
    const revoked = new Map<string, { serial: string; source: 'crl' | 'manual' }[]>();
    let revokedSerialsRequests = 0;
    bus.serve(RequestSubjects.RevokedSerialsGet, RevokedSerialsRequest, (req) => {
      revokedSerialsRequests += 1;
      const all = revoked.get(req.certificateId) ?? [];
      const revision = registry.find((e) => e.id === req.certificateId)?.revocation?.revision ?? 0;
      const from = req.after === undefined ? 0 : all.findIndex((r) => `${r.serial}.${r.source}` === req.after) + 1;
      const page = all.slice(from, from + fx.serialPageSize);
      const last = page[page.length - 1];
      return {
        revision,
        crl: page.filter((r) => r.source === 'crl').map((r) => r.serial),
        manual: page.filter((r) => r.source === 'manual').map((r) => r.serial),
        ...(from + page.length < all.length && last ? { next: `${last.serial}.${last.source}` } : {}),
      };
    });
    let trustSetRequests = 0;
    bus.serve(RequestSubjects.TrustSetGet, TrustSetRequest, (req) => {
      trustSetRequests += 1;
      if (failing.has(RequestSubjects.TrustSetGet)) throw new Error('the fake cert-registry is failing');
      // A busy cert-registry sheds the request (Bus.serve's load shedding).
      if (req.after !== undefined && fx.shedTrustPagesAfter.get(req.after)) {
        fx.shedTrustPagesAfter.set(req.after, fx.shedTrustPagesAfter.get(req.after)! - 1);
        throw new CodedError('OVERLOADED');
      }
      // Paged like cert-registry (id order, `next` while more remain), fx.trustPageSize at a time.
      const all = registry.filter((e) => req.accountIds.includes(e.accountId)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const rest = req.after === undefined ? all : all.filter((e) => e.id > req.after!);
      const entries = rest.slice(0, fx.trustPageSize);
      return { entries, ...(rest.length > entries.length ? { next: entries[entries.length - 1]!.id } : {}) };
    });
    let trustDigestRequests = 0;
    bus.serve(RequestSubjects.TrustSetDigest, TrustSetDigestRequest, async (req) => {
      trustDigestRequests += 1;
      if (fx.digestDelayMs > 0) await new Promise((r) => setTimeout(r, fx.digestDelayMs));
      if (failing.has(RequestSubjects.TrustSetDigest)) throw new Error('the fake cert-registry is failing');
      return trustDigest(registry.filter((e) => req.accountIds.includes(e.accountId)).map((e) => ({ ...e, revocationRevision: e.revocation?.revision ?? 0 })));
    });
    // Read the audit trail from the AUDIT stream (an ordered consumer resumes after an outage, so an
    // event the broker queued while NATS was away is seen once it lands).
    // Not on NATS the test owns (o.natsUrl): after a node kill nats.js recreates an ordered consumer in
    // a loop that outlives the connection (30 s waits), which would keep the test process alive.
    if (!external) {
      const auditConsumer = await bus.js.consumers.get(Streams.Audit.name, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
      const auditMessages = await auditConsumer.consume();
      stops.push(async () => {
        auditMessages.stop();
      });
      void (async () => {
        for await (const m of auditMessages) audit.push(JSON.parse(sc.decode(m.data)) as AuditEvent);
      })();
    }

    const baseEnv = () => ({
      TWOWAY_NATS_URL: natsUrl(),
      TWOWAY_MQTT_PORT: '0',
      TWOWAY_MQTT_HOST: '127.0.0.1',
      TWOWAY_HTTP_PORT: '0',
      TWOWAY_BROKER_ID: 'broker-test',
      TWOWAY_DATA_DIR: dir.path,
      TWOWAY_CONNECT_DEADLINE_MS: '3000',
    });
    const cfg = loadConfig(brokerSettings, { ...baseEnv(), ...env });
    const broker = await Broker.start(cfg, { log, tls: { certPem: pki.server.chainPem, keyPem: pki.server.keyPem }, ...deps });
    stops.push(() => broker.stop());

    const attemptOn: Fixture['attemptOn'] = (b, o) =>
      new Promise((resolve) => {
        const url = o.transport === 'wss' ? `wss://127.0.0.1:${b.wssPort}/mqtt` : `mqtts://127.0.0.1:${b.mqttPort}`;
        const client = mqtt.connect(url, {
          ca: pki.root.certPem,
          servername: 'localhost',
          ...(o.device ? { cert: o.device.chainPem, key: o.device.keyPem } : {}),
          clientId: o.clientId,
          ...(o.username !== undefined ? { username: o.username } : {}),
          ...(o.password !== undefined ? { password: o.password } : {}),
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 5000,
        });
        const res: Attempt = { client };
        client.on('packetreceive', (p) => {
          if (p.cmd === 'connack') res.connack = p as IConnackPacket;
        });
        client.once('connect', () => resolve(res));
        client.once('error', (e) => {
          res.error = e;
          resolve(res);
        });
        client.once('close', () => resolve(res));
      });
    const attempt: Fixture['attempt'] = (o) => attemptOn(broker, o);
    const startReplica: Fixture['startReplica'] = async (id, d = {}) => {
      const c = loadConfig(brokerSettings, { ...baseEnv(), ...env, TWOWAY_BROKER_ID: id });
      const b = await Broker.start(c, { log, tls: { certPem: pki.server.chainPem, keyPem: pki.server.keyPem }, ...deps, ...d });
      stops.push(() => b.stop());
      return b;
    };

    const fx: Fixture = {
      get nats() {
        return own();
      },
      bus,
      broker,
      pki,
      dir: dir.path,
      accounts,
      credentials,
      registry,
      failing,
      digestDelayMs: 0,
      trustPageSize: Number.MAX_SAFE_INTEGER,
      shedTrustPagesAfter: new Map(),
      get trustSetRequests() {
        return trustSetRequests;
      },
      get trustDigestRequests() {
        return trustDigestRequests;
      },
      get credentialRequests() {
        return credentialRequests;
      },
      serialPageSize: 20_000,
      get revokedSerialsRequests() {
        return revokedSerialsRequests;
      },
      setRevocation: async (entryId, r, change) => {
        const entry = registry.find((e) => e.id === entryId);
        if (!entry) throw new Error(`no registration ${entryId} in the fake registry`);
        const rows = [...(r.crl ?? []).map((serial) => ({ serial, source: 'crl' as const })), ...(r.manual ?? []).map((serial) => ({ serial, source: 'manual' as const }))];
        rows.sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : a.source < b.source ? -1 : 1));
        revoked.set(entryId, rows);
        const revision = (entry.revocation?.revision ?? 0) + 1;
        entry.revocation = { revision, serials: rows.length, ...(r.crlDates ? { crl: r.crlDates } : {}) };
        await fx.publishChange(ChangeSubjects.CertRevocationChanged, 'cert.revocation_changed', entry.accountId, { certificateId: entry.id, fingerprint: entry.fingerprint, revision, change, revocation: entry.revocation });
      },
      audit,
      register: (id, c, status, accountId = PROVIDER) => {
        registry.push({ id, accountId, fingerprint: c.cert.fingerprint, status, kind: c.cert.kind, pem: c.certPem });
      },
      attempt,
      attemptOn,
      startReplica,
      end: (a) => new Promise<void>((r) => a.client.end(true, {}, () => r())),
      auditFor: (clientId, type) =>
        waitFor(() => audit.find((e) => e.device?.clientId === clientId && (!type || e.type === type)), { what: `audit event${type ? ` ${type}` : ''} for ${clientId}` }),
      publishChange: async (subject, type, account, data, o = {}) => {
        const ev = { id: o.id ?? randomUUID(), type, time: new Date().toISOString(), account, actor: { kind: 'token', id: 'tok-test' }, data };
        const via = o.via ?? 'both';
        if (via !== 'stream') bus.announceRaw(subject, JSON.stringify(ev));
        if (via !== 'live') await bus.publishEvent(subject, ev);
      },
      setCertStatus: async (entryId, status) => {
        const entry = registry.find((e) => e.id === entryId);
        if (!entry) throw new Error(`no registration ${entryId} in the fake registry`);
        const before = entry.status;
        entry.status = status;
        await fx.publishChange(ChangeSubjects.CertStatusChanged, 'cert.status_changed', entry.accountId, { certificateId: entry.id, fingerprint: entry.fingerprint, before, after: status });
      },
      stopNats: () => own().proc.stop(),
      startNats: async () => {
        nats = await NatsServer.start({ port: own().port, storeDir: own().storeDir });
      },
      stop,
    };
    return fx;
  } catch (e) {
    await stop();
    throw e;
  }
}
