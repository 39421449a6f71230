// The fleet-scale run (docs/scaling.md): a deployment as Kubernetes runs it — every service its own
// process on its own PostgreSQL database, broker replicas, a 3-node NATS cluster with R3 streams —
// on this one machine, with a registered trust set of any size and thousands of live mTLS sessions
// held by devices in a separate process that reconnect as devices in the field do. Phases:
//   connect   every device connects (cold caches)
//   storm     every device drops at once and reconnects
//   suspend   one intermediate suspended: every session below it closed on every replica, no other
//   nats-kill one NATS node killed (SIGKILL) during traffic and a revocation; it rejoins
//   rolling   every broker restarted in turn (SIGTERM, drain, start on the same ports)
// Each phase checks that every decision was right (which devices are up, the brokers' refusal
// reasons) and throws otherwise; the figures come back as rows of one table.
// Used by `npm run scale` (scale.ts, full size) and by the CI test (scale.e2e.spec.ts, reduced).
import { randomBytes } from 'node:crypto';
import { connect as natsConnect, JSONCodec, type NatsConnection } from 'nats';
import { auditSubject, ConnectReasons } from '@twoway/contracts';
import { summary } from '../bench/support.js';
import { craftCertificateDer, Ext, EKU, testKey, toPem, type KeyPair, type NameSpec } from '@twoway/pki';
import { Deployment, HeldFleet, NatsCluster, Postgres, cpuDelta, openLean, processTreeStats, tempDir, waitFor, wallNow, type HeldDevice, type HeldStatus, type TreeStats } from '@twoway/testing';

export interface ScaleOptions {
  /** Registered pinned device leaves (offline devices), besides the root and intermediates. */
  pinned: number;
  /** Live sessions, below `sessions / perIntermediate` intermediates. */
  sessions: number;
  perIntermediate: number;
  /** Devices sharing one MQTT credential (its username; client ids differ). */
  devicesPerCredential: number;
  brokers: number;
  /** Devices connecting at once at most (the fleet's own limit, as a load balancer would spread them). */
  concurrency: number;
  phases: ReadonlyArray<'storm' | 'suspend' | 'nats-kill' | 'rolling'>;
  /** Where every process's output goes (`<name>.log`). */
  logDir?: string;
  /** Broker drain window for the rolling restart. */
  drainWindowMs: number;
  log?: (line: string) => void;
}

export interface Row {
  phase: string;
  measure: string;
  value: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

interface Pki {
  rootPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  intermediates: { name: string; pem: string; key: KeyPair; subject: NameSpec }[];
}

const caExts = (pathLen?: number) => [Ext.basicConstraints(true, pathLen), Ext.keyUsage(['keyCertSign', 'cRLSign'])];
const leafExts = (eku: string) => [Ext.basicConstraints(false), Ext.keyUsage(['digitalSignature']), Ext.extKeyUsage([eku])];

function buildPki(intermediates: number): Pki & { rootKey: KeyPair } {
  const rootKey = testKey('ec-p256');
  const root: NameSpec = [['O', 'twoway scale'], ['CN', 'scale root']];
  const rootPem = toPem(craftCertificateDer({ subject: root, key: rootKey, extensions: caExts() }));
  const serverKey = testKey('ec-p256');
  const serverCertPem = toPem(craftCertificateDer({
    subject: [['CN', 'localhost']], issuer: root, key: serverKey, signer: rootKey,
    extensions: [...leafExts(EKU.serverAuth), Ext.subjectAltName(['dns:localhost', 'ip:127.0.0.1'])],
  }));
  const inters = Array.from({ length: intermediates }, (_, i) => {
    const key = testKey('ec-p256');
    const subject: NameSpec = [['O', 'twoway scale'], ['CN', `scale intermediate ${i}`]];
    return { name: `intermediate-${i}`, key, subject, pem: toPem(craftCertificateDer({ subject, issuer: root, key, signer: rootKey, extensions: caExts(0) })) };
  });
  return { rootKey, rootPem, serverCertPem, serverKeyPem: serverKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, intermediates: inters };
}

/** Broker decision counters (`twoway_broker_decisions_total`) summed over replicas, by `outcome/reason`. */
async function decisions(d: Deployment): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const b of d.brokers) {
    const text = await (await fetch(`${b.httpUrl}/metrics`)).text();
    for (const line of text.split('\n')) {
      const m = /^twoway_broker_decisions_total\{([^}]*)\} (\d+)/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      const k = `${labels.outcome}/${labels.reason}`;
      out[k] = (out[k] ?? 0) + Number(m[2]);
    }
  }
  return out;
}
const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => (v as number) > 0)) as Record<string, number>;

/** Stops whatever a run started; set while a run is in progress (scale.ts calls it on Ctrl-C). */
export let abortRun: (() => Promise<void>) | undefined;

export interface ScaleResult {
  rows: Row[];
  /** PEM bytes of the account's registrations (the trust set travels as JSON, a little more). */
  trustSetPemBytes: number;
  registered: number;
}

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const log = o.log ?? (() => undefined);
  const rows: Row[] = [];
  let trustBytes = 0;
  let totalRegistered = 0;
  const row = (phase: string, measure: string, value: string) => {
    rows.push({ phase, measure, value });
    log(`  ${phase}: ${measure} = ${value}`);
  };
  const nIntermediates = Math.ceil(o.sessions / o.perIntermediate);
  await using dir = await tempDir('twoway-scale-');

  // ---- the parts ----
  let t = wallNow();
  const pg = await Postgres.start();
  const cluster = await NatsCluster.start();
  const pki = buildPki(nIntermediates);
  let deployment: Deployment | undefined;
  let nc: NatsConnection | undefined;
  await using fleet = HeldFleet.start();
  const roots = () => [...(deployment?.pids ?? []), ...cluster.pids, { name: 'postgres', pid: pg.proc.child.pid! }];
  const stats = () => processTreeStats(roots());
  // Each step whatever the one before did: a run stopped (Ctrl-C) while the deployment was still
  // starting once left its PostgreSQL running.
  const teardown = async () => {
    await fleet.end().catch(() => undefined);
    await nc?.close().catch(() => undefined);
    await deployment?.stop().catch((e: Error) => log(`stopping the deployment: ${e.message}`));
    await cluster.stop().catch((e: Error) => log(`stopping the NATS cluster: ${e.message}`));
    await pg.stop();
  };
  abortRun = teardown;
  try {
    let dbs = 0;
    deployment = await Deployment.start({
      natsUrl: cluster.url,
      dbUrl: async (s) => pg.createDatabase(`${s.replace('-', '_')}_${dbs++}`),
      brokers: o.brokers,
      tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
      dir: dir.path,
      env: { TWOWAY_NATS_REPLICAS: '3' },
      brokerEnv: { TWOWAY_DRAIN_WINDOW_MS: String(o.drainWindowMs) },
      ...(o.logDir ? { logDir: o.logDir } : {}),
    });
    const d = deployment;
    row('setup', 'deployment up (PostgreSQL, 3 NATS nodes, 4 services, brokers)', `${fmt((wallNow() - t) / 1000, 1)} s`);

    // ---- provisioning ----
    const must = async <T = any>(r: Promise<{ status: number; body: T }>, ok: number, what: string): Promise<T> => {
      const x = await r;
      if (x.status !== ok) throw new Error(`${what} answered ${x.status}: ${JSON.stringify(x.body).slice(0, 300)}`);
      return x.body;
    };
    const acc = await must(d.api('POST', '/api/v1/accounts', { name: 'fleet' }), 201, 'create account');
    await must(d.api('PUT', `/api/v1/accounts/${acc.id}/settings`, { tls: { enabled: false }, mutualTls: { available: true, enabled: true } }), 200, 'settings');
    const certs = `/api/v1/accounts/${acc.id}/certificates`;
    await must(d.api('POST', certs, { name: 'root', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.rootPem }), 201, 'register root');
    const interIds: string[] = [];
    const interFps: string[] = [];
    for (const i of pki.intermediates) {
      const c = await must(d.api('POST', certs, { name: i.name, usage: 'MUTUAL_AUTHENTICATION', certificate: i.pem }), 201, 'register intermediate');
      interIds.push(c.id);
      interFps.push(c.fingerprint);
    }

    // Pinned leaves of offline devices, issued by a CA nobody registered: each one an anchor of its own.
    t = wallNow();
    const regBefore = await stats();
    const pinKey = testKey('ec-p256');
    const pinIssuer: NameSpec = [['O', 'elsewhere'], ['CN', 'unregistered issuing CA']];
    const pinSigner = testKey('ec-p256');
    const BUNDLE = 32; // the most one upload registers (split)
    let registered = 0;
    trustBytes = pki.rootPem.length + pki.intermediates.reduce((n, i) => n + i.pem.length, 0);
    const bundles = Math.ceil(o.pinned / BUNDLE);
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let b = next++; b < bundles; b = next++) {
        const pems: string[] = [];
        for (let k = b * BUNDLE; k < Math.min(o.pinned, (b + 1) * BUNDLE); k++) {
          pems.push(toPem(craftCertificateDer({ subject: [['CN', `pinned-${k}`]], issuer: pinIssuer, key: pinKey, signer: pinSigner, extensions: leafExts(EKU.clientAuth) })));
        }
        const bundle = pems.join('');
        trustBytes += bundle.length;
        const r = await must(d.api('POST', `${certs}?split=true`, { name: `pinned-${b}`, usage: 'MUTUAL_AUTHENTICATION', certificate: bundle }), 201, 'register pinned leaves');
        registered += (r as { items: unknown[] }).items.length;
        if (b % 200 === 0) log(`  registered ${registered}/${o.pinned} pinned leaves`);
      }
    }));
    totalRegistered = registered + 1 + nIntermediates;
    row('setup', 'registered certificates in the account', `${totalRegistered} (PEM ${fmt(trustBytes / 1e6, 1)} MB)`);
    const regCpu = cpuDelta(regBefore, await stats());
    row('setup', 'registration rate (bundles of 32 over REST, 4 at a time)', `${fmt(registered / ((wallNow() - t) / 1000))} /s; CPU ms per registration: ${Object.entries(regCpu).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v / Math.max(1, registered), 2)}`).join(', ')}`);

    // Credentials, one per `devicesPerCredential` devices.
    t = wallNow();
    const nCreds = Math.ceil(o.sessions / o.devicesPerCredential);
    const passwords: string[] = [];
    let nextCred = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let k = nextCred++; k < nCreds; k = nextCred++) {
        passwords[k] = randomBytes(12).toString('base64url');
        await must(d.api('POST', `/api/v1/accounts/${acc.id}/credentials`, { username: `cred-${k}`, password: passwords[k] }), 201, 'create credential');
      }
    }));
    row('setup', `MQTT credentials (${o.devicesPerCredential} devices each)`, `${nCreds} in ${fmt((wallNow() - t) / 1000, 1)} s`);

    // Devices: their own key and certificate below an intermediate.
    t = wallNow();
    const ports = d.brokers.map((b) => b.mqttPort);
    const devices: HeldDevice[] = [];
    for (let i = 0; i < o.sessions; i++) {
      const g = Math.floor(i / o.perIntermediate);
      const inter = pki.intermediates[g]!;
      const key = testKey('ec-p256');
      const leaf = toPem(craftCertificateDer({ subject: [['CN', `dev-${i}`]], issuer: inter.subject, key, signer: inter.key, extensions: leafExts(EKU.clientAuth) }));
      const own = i % ports.length;
      devices.push({
        host: '127.0.0.1', servername: 'localhost', ca: pki.rootPem, cert: leaf + inter.pem, key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        username: `cred-${Math.floor(i / o.devicesPerCredential)}`, password: passwords[Math.floor(i / o.devicesPerCredential)]!, clientId: `dev-${i}`,
        ports: [...ports.slice(own), ...ports.slice(0, own)], group: inter.name,
      });
    }
    log(`  ${o.sessions} device certificates issued in ${fmt((wallNow() - t) / 1000, 1)} s`);

    // What the brokers say about ended sessions (the revocation's reach, on the broker clock).
    nc = await natsConnect({ servers: cluster.url, name: 'scale-audit-reader', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jc = JSONCodec<{ time: string; source: string; reason?: string; device?: { clientId?: string }; detail?: { fingerprint?: string } }>();
    let ended: { atMs: number; source: string; reason?: string; clientId?: string; fingerprint?: string }[] = [];
    const sub = nc.subscribe(auditSubject('session.ended'));
    void (async () => {
      for await (const m of sub) {
        const e = jc.decode(m.data);
        ended.push({ atMs: Date.parse(e.time), source: e.source, reason: e.reason, clientId: e.device?.clientId, fingerprint: e.detail?.fingerprint });
      }
    })();

    const allUp = (s: HeldStatus) => s.up === o.sessions;
    const progress = (s: HeldStatus) => log(`    ${s.up}/${s.total} up; refused ${JSON.stringify(s.refused)}; failed ${JSON.stringify(s.failed)}`);
    // A refusal for a reason the phase does not expect is a wrong decision and fails the run. Refusals
    // that say "not now" (an owner did not answer in time, the deadline passed: the machine is
    // saturated) are fail-closed answers the device retries; they are counted in the table instead.
    const TRANSIENT = [`rejected/${ConnectReasons.UNDECIDABLE}`, `rejected/${ConnectReasons.CONNECT_TIMEOUT}`];
    const expectOnly = (phase: string, got: Record<string, number>, allowed: string[]) => {
      const wrong = Object.entries(got).filter(([k]) => !k.startsWith('accepted/') && !allowed.includes(k) && !TRANSIENT.includes(k));
      if (wrong.length) throw new Error(`${phase}: unexpected refusals ${JSON.stringify(wrong)} (decisions ${JSON.stringify(got)})\n${d.logs()}`);
      const transient = TRANSIENT.reduce((n, k) => n + (got[k] ?? 0), 0);
      if (transient) row(phase, 'refused for now (UNDECIDABLE, CONNECT_TIMEOUT), retried by the devices', String(transient));
    };

    // ---- connect (cold) ----
    // The registrations' events (audit store, brokers' trust sets) are worked off first: the connect
    // phase is measured on a quiet system.
    await settle(stats, log);
    let before: TreeStats = await stats();
    let dec0 = await decisions(d);
    t = wallNow();
    await fleet.hold(devices, { concurrency: o.concurrency });
    await fleet.until(allUp, `all ${o.sessions} sessions up`, 30 * 60_000, 100, progress);
    let secs = (wallNow() - t) / 1000;
    let cpu = cpuDelta(before, await stats());
    let dec = diff(dec0, await decisions(d));
    expectOnly('connect', dec, []);
    row('connect', `${o.sessions} devices connected from cold (${o.concurrency} at a time)`, `${fmt(secs, 1)} s, ${fmt(o.sessions / secs)} /s`);
    row('connect', 'system CPU per connect (every process)', `${fmt(sum(cpu) / o.sessions, 2)} ms`);
    row('connect', 'CPU by process (s)', Object.entries(cpu).filter(([, v]) => v >= 100).map(([k, v]) => `${k} ${fmt(v / 1000, 1)}`).join(', '));
    const steady = await stats();
    for (const b of d.brokers) row('connect', `RSS of ${b.id} holding ${fmt(o.sessions / d.brokers.length)} sessions`, `${fmt(steady.rssBytes[b.id]! / 2 ** 20)} MiB`);
    row('connect', 'RSS of every process together', `${fmt(sum(steady.rssBytes) / 2 ** 20)} MiB`);

    // ---- storm ----
    if (o.phases.includes('storm')) {
      await sleep(2_000);
      before = await stats();
      dec0 = await decisions(d);
      t = wallNow();
      await fleet.drop();
      const s = await fleet.until(allUp, 'all sessions back after the storm', 30 * 60_000, 100, progress);
      secs = (s.lastChangeMs - t) / 1000;
      cpu = cpuDelta(before, await stats());
      dec = diff(dec0, await decisions(d));
      expectOnly('storm', dec, []);
      row('storm', `all ${o.sessions} dropped at once: time until all are back`, `${fmt(secs, 1)} s`);
      row('storm', 'system CPU per reconnect (every process)', `${fmt(sum(cpu) / o.sessions, 2)} ms`);
      row('storm', 'CPU by process (s)', Object.entries(cpu).filter(([, v]) => v >= 100).map(([k, v]) => `${k} ${fmt(v / 1000, 1)}`).join(', '));
    }

    // ---- suspend one intermediate ----
    const suspend = async (phase: string, g: number) => {
      const group = pki.intermediates[g]!.name;
      const below = devices.filter((x) => x.group === group).length;
      const patch = (status: string) => d.api('PATCH', `${certs}/${interIds[g]}`, { status });
      await sleep(1_000);
      ended = [];
      dec0 = await decisions(d);
      const sent = wallNow();
      await must(patch('SUSPENDED'), 200, 'suspend');
      const t0 = wallNow();
      const s = await fleet.until((x) => (x.upByGroup[group] ?? 0) === 0, `no session below ${group}`, 60_000, 20).catch(async (e: Error) => {
        // What each part says about itself, for the failure's message.
        const probe = async (name: string, url: string) => `${name}: ${await fetch(`${url}/readyz`).then((r) => r.text()).catch((x: Error) => x.message)}`;
        const states = await Promise.all([...d.brokers.map((b) => probe(b.id, b.httpUrl)), probe('cert-registry', d.services.get('cert-registry')!.httpUrl)]);
        throw new Error(`${e.message}\nreadiness:\n${states.join('\n')}`);
      });
      // One session.ended per device below it. Most name the suspended CA (the change's kick); a replica
      // that re-decided its sessions at that moment (a resync after its NATS node went) ends them with
      // the same reason and the decision instead. Any other reason is a wrong decision.
      const ids = new Set(devices.filter((x) => x.group === group).map((x) => x.clientId));
      const endedBelow = () => ended.filter((e) => e.clientId && ids.has(e.clientId));
      await waitFor(() => new Set(endedBelow().map((e) => e.clientId)).size >= below, { timeoutMs: 30_000, what: `${below} session.ended audit events` }).catch((e: Error) => {
        const seen: Record<string, number> = {};
        for (const x of endedBelow()) seen[`${x.source}/${x.reason}`] = (seen[`${x.source}/${x.reason}`] ?? 0) + 1;
        throw new Error(`${phase}: ${e.message}; received ${new Set(endedBelow().map((x) => x.clientId)).size} (by replica/reason ${JSON.stringify(seen)})`);
      });
      const wrong = endedBelow().filter((e) => e.reason !== ConnectReasons.SESSION_CERT_STATUS_CHANGED);
      if (wrong.length) throw new Error(`${phase}: sessions below ${group} ended for another reason: ${JSON.stringify(wrong.slice(0, 5))}`);
      // From the moment the PATCH was sent: its commit is inside the request, which has to return too.
      const mine = endedBelow().map((e) => e.atMs - sent);
      if (s.up !== o.sessions - below) throw new Error(`${phase}: ${s.up} sessions up, expected ${o.sessions - below}: a session not below ${group} was ended`);
      const perReplica = new Set(endedBelow().map((e) => e.source));
      row(phase, `${group} suspended with ${below} live sessions below it: closed on the broker clock (ms resolution), from sending the PATCH, p50/p99/max`, `${fmt(summary(mine).p50)} / ${fmt(summary(mine).p99)} / ${fmt(summary(mine).max)} ms (the PATCH answered after ${fmt(t0 - sent)} ms; ${perReplica.size} replicas; ${endedBelow().filter((e) => e.fingerprint !== interFps[g]).length} by a re-decision)`);
      row(phase, 'as the devices saw it: all closed, from sending the PATCH', `${fmt(s.lastChangeMs - sent)} ms`);
      // Devices below it keep trying: each try must be refused for the suspension, nothing else.
      await sleep(3_000);
      const during = await fleet.status();
      if ((during.upByGroup[group] ?? 0) !== 0) throw new Error(`${phase}: ${during.upByGroup[group]} devices below the suspended ${group} were admitted again`);
      dec = diff(dec0, await decisions(d));
      expectOnly(phase, dec, [`rejected/${ConnectReasons.CERT_SUSPENDED}`]);
      const refusedTries = dec[`rejected/${ConnectReasons.CERT_SUSPENDED}`] ?? 0;
      if (!refusedTries) throw new Error(`${phase}: the devices below ${group} were never refused CERT_SUSPENDED while retrying`);
      const restored = wallNow();
      await must(patch('VALID'), 200, 'restore');
      const back = await fleet.until(allUp, 'all sessions back after the restore', 120_000, 50);
      row(phase, `restored: all ${below} back after (device backoff up to 5 s)`, `${fmt((back.lastChangeMs - restored) / 1000, 1)} s (${refusedTries} retries refused CERT_SUSPENDED meanwhile)`);
    };
    if (o.phases.includes('suspend')) await suspend('suspend', 0);

    // ---- one NATS node killed ----
    if (o.phases.includes('nats-kill')) {
      const node = (await cluster.nodeOf(`twoway-broker-${d.brokers[0]!.id}`)) ?? 0;
      const upBefore = (await fleet.status()).up;
      const closedBefore = (await fleet.status()).closedByServer;
      dec0 = await decisions(d);
      const killedAt = wallNow();
      await cluster.killNode(node);
      // New devices connect during the loss, on every replica, retrying as devices do: every attempt
      // must be answered (a CONNACK); one may be refused for now while the broker's NATS client moves
      // to another node (counted, and checked to be UNDECIDABLE below), and each replica must accept
      // again within 15 s.
      const acceptedAfter: number[] = [];
      let retried = 0;
      for (let k = 0; k < 3 * d.brokers.length; k++) {
        const x = devices[o.sessions - 1 - k]!;
        const port = d.brokers[k % d.brokers.length]!.mqttPort;
        for (let attempt = 0; ; attempt++) {
          const r = await openLean({ ...x, port, clientId: `probe-${k}-${attempt}` }, 15_000).catch((e: Error) => e);
          if (r instanceof Error) throw new Error(`nats-kill: a connect on ${port} got no answer: ${r.message}`);
          r.socket.destroy();
          if (r.returnCode === 0) break;
          retried += 1;
          if (wallNow() - killedAt > 15_000) throw new Error(`nats-kill: ${port} still refused (${r.returnCode}) 15 s after the kill`);
          await sleep(250);
        }
        acceptedAfter.push(wallNow() - killedAt);
      }
      row('nats-kill', `connects on every replica from the kill on (${acceptedAfter.length}, one after another)`, `every one answered; ${retried} refused for now and retried; the first accepted ${fmt(acceptedAfter[0]!)} ms after the kill`);
      const s = await fleet.status();
      if (s.closedByServer !== closedBefore || s.up !== upBefore) throw new Error(`nats-kill: live sessions were lost (${s.up} up, ${s.closedByServer - closedBefore} closed)`);
      row('nats-kill', 'live sessions lost', '0');
      if (o.phases.includes('suspend') && nIntermediates > 1) await suspend('nats-kill', 1);
      const t1 = wallNow();
      await cluster.restartNode(node);
      await waitFor(() => cluster.healthy(node), { timeoutMs: 60_000, everyMs: 200, what: 'the NATS node healthy again' });
      row('nats-kill', `node back (restarted ${fmt((t1 - killedAt) / 1000, 1)} s after the kill): healthy after`, `${fmt((wallNow() - t1) / 1000, 1)} s`);
      dec = diff(dec0, await decisions(d));
      expectOnly('nats-kill', dec, [`rejected/${ConnectReasons.CERT_SUSPENDED}`]);
    }

    // ---- rolling restart of the brokers ----
    if (o.phases.includes('rolling')) {
      await sleep(1_000);
      dec0 = await decisions(d);
      before = await stats();
      const t0 = wallNow();
      let minUp = o.sessions;
      for (let i = 0; i < d.brokers.length; i++) {
        const restart = { done: false };
        const watch = (async () => {
          while (!restart.done) {
            minUp = Math.min(minUp, (await fleet.status()).up);
            await sleep(100);
          }
        })();
        const r = await d.restartBroker(i, o.drainWindowMs + 30_000);
        restart.done = true;
        await watch;
        const back = await fleet.until(allUp, `all sessions up after restarting ${d.brokers[i]!.id}`, 120_000, 100);
        row('rolling', `${d.brokers[i]!.id}: drained and exited / ready again / all sessions up`, `${fmt(r.stoppedMs / 1000, 1)} s / ${fmt(r.readyMs / 1000, 1)} s / ${fmt((back.lastChangeMs - t0) / 1000, 1)} s from the start`);
      }
      cpu = cpuDelta(before, await stats());
      dec = diff(dec0, await decisions(d));
      expectOnly('rolling', dec, []);
      row('rolling', `whole rolling restart of ${d.brokers.length} brokers (drain window ${o.drainWindowMs / 1000} s)`, `${fmt((wallNow() - t0) / 1000, 1)} s, fewest sessions up ${minUp} of ${o.sessions}`);
    }
    return { rows, trustSetPemBytes: trustBytes, registered: totalRegistered };
  } catch (e) {
    if (deployment) log(deployment.logs(30));
    throw e;
  } finally {
    abortRun = undefined;
    await teardown();
  }
}

/** Wait until every process together uses less than a fifth of a core for a second (at most 60 s). */
async function settle(stats: () => Promise<TreeStats>, log: (l: string) => void): Promise<void> {
  const t0 = wallNow();
  let prev = await stats();
  for (;;) {
    await sleep(1_000);
    const next = await stats();
    const busy = sum(cpuDelta(prev, next));
    prev = next;
    if (busy < 200 || wallNow() - t0 > 60_000) {
      log(`  settled after ${fmt((wallNow() - t0) / 1000, 1)} s (${fmt(busy)} ms CPU in the last second)`);
      return;
    }
  }
}

export function table(rows: Row[]): string {
  return ['| phase | measure | value |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.phase} | ${r.measure} | ${r.value} |`)].join('\n');
}
