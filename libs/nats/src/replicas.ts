// How many copies JetStream keeps of each stream (and KV bucket, which is the stream `KV_<bucket>`):
// created with the configured count, raised when the setting is higher, never lowered by a service
// start — an operator who scaled a stream to R3 by hand keeps R3 when a service with R1 restarts.
import type { JetStreamManager, NatsConnection, StreamConfig, StreamInfo } from 'nats';

export type ReplicaAction = 'create' | 'keep' | 'raise';

export interface ReplicaPlan {
  action: ReplicaAction;
  /** The count to create the stream with, or to give it now. */
  replicas: number;
  /** The stream's count before (undefined: it does not exist). */
  current?: number;
}

/** What to do with a stream that has `current` replicas (undefined: missing) when the setting is `wanted`. */
export function planReplicas(current: number | undefined, wanted: number): ReplicaPlan {
  if (!Number.isInteger(wanted) || wanted < 1) throw new RangeError(`replicas must be a positive integer, got ${wanted}`);
  if (current === undefined) return { action: 'create', replicas: wanted };
  if (current >= wanted) return { action: 'keep', replicas: current, current };
  return { action: 'raise', replicas: wanted, current };
}

export interface ReplicaLog {
  info?(o: object, m: string): void;
  warn(o: object, m: string): void;
}

export const kvStreamName = (bucket: string): string => `KV_${bucket}`;

/**
 * The count to use on the server `nc` is connected to: a single, unclustered nats-server refuses to
 * create a stream with more than one replica, so there the setting means 1 (and the operator is told).
 */
export function replicasFor(nc: NatsConnection, wanted: number, log?: ReplicaLog): number {
  if (wanted > 1 && nc.info && !nc.info.cluster) {
    log?.warn({ wanted, server: nc.info.server_name }, 'the NATS server is not clustered: streams get 1 replica');
    return 1;
  }
  return wanted;
}

export async function streamInfoOrUndefined(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (e) {
    if (/not found/i.test(String((e as Error).message))) return undefined;
    throw e;
  }
}

/** Does `config` ask for anything the stream does not have already? */
function changes(config: Partial<StreamConfig>, have: StreamConfig): boolean {
  return Object.entries(config).some(([k, v]) => JSON.stringify(v) !== JSON.stringify((have as unknown as Record<string, unknown>)[k]));
}

const UPDATE_ATTEMPTS = 4;
const UPDATE_RETRY_MS = 500;
const SETTLE_MS = 10_000;

/**
 * A stream update, retried a few times when it times out: right after a replica change the stream's
 * new peer group is still electing a leader and answers nothing for a few seconds (measured on a
 * 3-node cluster; services starting together run into it).
 */
async function update(jsm: JetStreamManager, stream: string, config: Partial<StreamConfig>): Promise<StreamInfo> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await jsm.streams.update(stream, config);
    } catch (e) {
      if (attempt >= UPDATE_ATTEMPTS || !/timeout/i.test(String((e as Error).message))) throw e;
      await new Promise((r) => setTimeout(r, UPDATE_RETRY_MS * attempt));
    }
  }
}

/**
 * After a raise the stream answers nothing (503, timeouts) until its new peer group has a leader;
 * wait for that and for every peer to be current, so the caller can use the stream at once.
 * Returns whether it settled within the bound (if not, JetStream keeps catching the peers up).
 */
async function settle(jsm: JetStreamManager, stream: string, replicas: number): Promise<boolean> {
  const until = Date.now() + SETTLE_MS;
  while (Date.now() < until) {
    const c = (await jsm.streams.info(stream).catch(() => undefined))?.cluster;
    if (c?.leader && (c.replicas ?? []).filter((p) => p.current).length >= replicas - 1) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Bring an existing stream (`have`) to `config` with at least `plan.replicas` copies; no request at
 * all when nothing would change. When the raise is refused (fewer JetStream nodes up than the
 * setting) the stream keeps its count and its other limits are still applied: a service start must
 * not fail because one NATS node is away. Returns the count the stream has afterwards.
 */
export async function updateKeepingReplicas(jsm: JetStreamManager, stream: string, config: Partial<StreamConfig>, plan: ReplicaPlan, have: StreamConfig, log?: ReplicaLog): Promise<number> {
  const current = plan.current ?? have.num_replicas;
  if (plan.action === 'raise') {
    try {
      const info = await update(jsm, stream, { ...have, ...config, num_replicas: plan.replicas });
      const now = info.config.num_replicas;
      if (now >= plan.replicas) {
        const settled = await settle(jsm, stream, now);
        log?.info?.({ stream, from: current, to: now, settled }, 'stream replicas raised');
      } else log?.warn({ stream, current: now, wanted: plan.replicas }, 'the NATS server kept fewer stream replicas than asked');
      return now;
    } catch (err) {
      log?.warn({ err, stream, current, wanted: plan.replicas }, 'cannot raise stream replicas now (not enough JetStream nodes?); kept');
    }
  }
  const keep = { ...config, num_replicas: current };
  if (!changes(keep, have)) return current;
  return (await update(jsm, stream, { ...have, ...keep })).config.num_replicas;
}

/**
 * For a stream someone else configures (a KV bucket, created by `js.views.kv(bucket, { replicas })`):
 * raise it to the setting if it exists with fewer replicas, never lower it, and return the count to
 * pass when creating it. Typical use:
 *
 *   const { replicas } = await ensureStreamReplicas(nc, kvStreamName(bucket), cfg.natsReplicas, log);
 *   const kv = await nc.jetstream().views.kv(bucket, { history: 1, replicas });
 */
export async function ensureStreamReplicas(nc: NatsConnection, stream: string, setting: number, log?: ReplicaLog): Promise<ReplicaPlan> {
  const wanted = replicasFor(nc, setting, log);
  const jsm = await nc.jetstreamManager();
  const info = await streamInfoOrUndefined(jsm, stream);
  const plan = planReplicas(info?.config.num_replicas, wanted);
  if (plan.action === 'keep') {
    if (plan.replicas > setting) log?.info?.({ stream, replicas: plan.replicas, setting }, 'stream has more replicas than the setting; kept');
    return plan;
  }
  if (plan.action === 'create') return plan;
  const now = await updateKeepingReplicas(jsm, stream, {}, plan, info!.config, log);
  return { ...plan, action: now > plan.current! ? 'raise' : 'keep', replicas: now };
}
