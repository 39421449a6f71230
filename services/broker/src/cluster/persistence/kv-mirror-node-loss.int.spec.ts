// KV mirrors on a real 3-node cluster (nats-server 2.9, R3 bucket) when the node holding many of their
// watches is killed with SIGKILL: every mirror, on the surviving nodes and on the client that reconnects,
// holds each later put within a few seconds, in bucket order, none lost. Before the fix a mirror whose
// watch had lived there stayed behind: a third of the new watches were placed on the dead node and never
// answered (5 s each, then another stall period), so the replica heartbeat mirror missed puts for tens of seconds.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { NatsCluster, waitFor } from '@twoway/testing';
import { KvMirror } from './kv-mirror.js';
import { openKv } from './jetstream.js';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const BUCKET = 'NODE_LOSS';
const STREAM = `KV_${BUCKET}`;
/** A put must be in every mirror this long after JetStream acknowledged it. */
const REACH_MS = 5_000;
/** Watches placed on the killed node: each one had a third of a chance to be replaced onto it again. */
const AT_LEAST_ON_KILLED = 9;
const PUTS_AFTER_KILL = 30;

interface Followed {
  client: number;
  mirror: KvMirror<string>;
  /** Revisions in the order this mirror applied them, and when. */
  applied: { revision: number; at: number }[];
}

it('KV mirrors keep up when the NATS node holding their watches is killed: each put reaches every mirror within 5 s, in order, none lost', async (t) => {
  // Undone in reverse: mirrors, then connections, then the cluster.
  const undo: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const u of undo.reverse()) await u();
  });
  const cluster = await NatsCluster.start();
  undo.push(() => cluster.stop());
  // Client i prefers node i and reconnects to the others, as a broker does.
  const clients: NatsConnection[] = [];
  for (let i = 0; i < cluster.size; i++) {
    const servers = [cluster.urlOf(i), ...cluster.urls.filter((u) => u !== cluster.urlOf(i))];
    const nc = await connect({ servers, noRandomize: true, name: `mirror-client-${i}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    undo.push(() => nc.close());
    clients.push(nc);
  }
  const writer = await connect({ servers: cluster.urls, name: 'writer', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  undo.push(() => writer.close());
  const kv = await openKv(writer, BUCKET, { replicas: 3, timeout: 2_000 });
  const jsm = await writer.jetstreamManager();

  const followed: Followed[] = [];
  const follow = async (client: number): Promise<void> => {
    const f: Followed = { client, mirror: undefined!, applied: [] };
    f.mirror = await KvMirror.open<string>({
      nc: clients[client]!, kv: await openKv(clients[client]!, BUCKET, { replicas: 3, timeout: 2_000 }), bucket: BUCKET, log, what: `mirror ${followed.length}`,
      timeoutMs: 5_000, lagCheckMs: 250, stuckAfterMs: 1_000,
      decode: (_k, v) => new TextDecoder().decode(v),
      onChange: (key) => void f.applied.push({ revision: f.mirror.get(key)!.revision, at: Date.now() }),
    });
    undo.push(() => f.mirror.stop());
    followed.push(f);
  };
  const hosts = async (): Promise<Map<number, number>> => {
    const counts = new Map<number, number>();
    for (const c of await jsm.consumers.list(STREAM).next()) {
      const i = cluster.indexOf(c.cluster?.leader ?? '');
      counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    return counts;
  };

  // While a new meta leader is elected (4-9 s in 2.9) JetStream places no consumer and answers no stream
  // request, so no mirror could do better: kill another node, the one holding the most watches.
  const { meta } = await waitFor(async () => {
    const i = await cluster.metaLeader();
    return i === undefined ? undefined : { meta: i };
  }, { what: 'the meta leader' });
  let target = -1;
  for (let round = 0; round < 20; round++) {
    for (let c = 0; c < clients.length; c++) await follow(c);
    const counts = await hosts();
    const best = [...counts].filter(([i]) => i !== meta && i >= 0).sort((a, b) => b[1] - a[1])[0];
    if (best && best[1] >= AT_LEAST_ON_KILLED) {
      target = best[0];
      break;
    }
  }
  assert.notEqual(target, -1, `no node other than the meta leader holds ${AT_LEAST_ON_KILLED} watches`);
  for (let n = 0; n < 5; n++) await kv.put(`before-${n}`, new TextEncoder().encode(String(n)));
  await Promise.all(followed.map((f) => f.mirror.sync()));
  const streamLeader = cluster.indexOf((await jsm.streams.info(STREAM)).cluster?.leader ?? '');

  await cluster.killNode(target);
  const killedAt = Date.now();
  // Puts go on; while the stream elects a new leader (when it was on the killed node) they fail.
  const accepted: { key: string; revision: number; at: number }[] = [];
  for (let n = 0; accepted.length < PUTS_AFTER_KILL && Date.now() - killedAt < 30_000; n++) {
    const key = `after-${n}`;
    try {
      const revision = await kv.put(key, new TextEncoder().encode(String(n)));
      accepted.push({ key, revision, at: Date.now() });
    } catch {
      /* no stream leader yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(accepted.length, PUTS_AFTER_KILL, 'the bucket accepts puts again after the kill');
  const last = accepted.at(-1)!.revision;
  await waitFor(() => followed.every((f) => f.applied.some((a) => a.revision >= last)), { timeoutMs: 20_000, everyMs: 100, what: 'every mirror to hold the last put' })
    .catch(() => undefined);

  // Each accepted put, in each mirror: how long after its acknowledgement.
  const late: string[] = [];
  let worstMs = 0;
  for (const [m, f] of followed.entries()) {
    const at = new Map(f.applied.map((a) => [a.revision, a.at]));
    for (const p of accepted) {
      const reached = at.get(p.revision);
      const ms = reached === undefined ? Infinity : reached - p.at;
      worstMs = Math.max(worstMs, ms);
      if (ms > REACH_MS) late.push(`mirror ${m} (client ${f.client}) revision ${p.revision}: ${reached === undefined ? 'never' : `${ms} ms`}`);
    }
  }
  console.log(`kv-mirror node loss: killed n${target} (stream leader n${streamLeader}, meta leader n${meta}), ${followed.length} mirrors, ` +
    `worst reach ${worstMs} ms, reads ${followed.reduce((s, f) => s + f.mirror.readEntries, 0)}, re-watches ${followed.reduce((s, f) => s + f.mirror.stuckRestarts, 0)}`);
  assert.deepEqual(late.slice(0, 10), [], `${late.length} puts reached a mirror later than ${REACH_MS} ms`);

  // In bucket order, each once, nothing missing: every key was put once, so every revision stays in the bucket.
  const all = [...(await bucketRevisions(jsm))];
  for (const [m, f] of followed.entries()) {
    const revisions = f.applied.map((a) => a.revision);
    assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), `mirror ${m} applied in bucket order`);
    assert.deepEqual(revisions, all, `mirror ${m} applied every revision once`);
  }
});

/** Every revision the bucket holds, in order. */
async function bucketRevisions(jsm: Awaited<ReturnType<NatsConnection['jetstreamManager']>>): Promise<number[]> {
  const { first_seq, last_seq } = (await jsm.streams.info(STREAM)).state;
  const out: number[] = [];
  for (let seq = first_seq; seq <= last_seq; seq++) {
    out.push((await jsm.streams.getMessage(STREAM, { seq })).seq);
  }
  return out;
}
