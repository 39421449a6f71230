// How many copies JetStream keeps of each stream (and KV bucket, which is the stream `KV_<bucket>`):
// created with the configured count, raised when the setting is higher, never lowered by a service
// start — an operator who scaled a stream to R3 by hand keeps R3 when a service with R1 restarts.
import type { JetStreamManager, StreamConfig, StreamInfo } from 'nats';

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

export async function streamInfoOrUndefined(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (e) {
    if (/not found/i.test(String((e as Error).message))) return undefined;
    throw e;
  }
}

/**
 * Update an existing stream to `config` with at least `plan.replicas` copies. When the raise is refused
 * (fewer JetStream nodes up than the setting, a single server) the stream keeps its count and its other
 * limits are still applied: a service start must not fail because one NATS node is away.
 * Returns the count the stream has afterwards.
 */
export async function updateKeepingReplicas(jsm: JetStreamManager, stream: string, config: Partial<StreamConfig>, plan: ReplicaPlan, log?: ReplicaLog): Promise<number> {
  const current = plan.current ?? 1;
  if (plan.action === 'raise') {
    try {
      const info = await jsm.streams.update(stream, { ...config, num_replicas: plan.replicas });
      const now = info.config.num_replicas;
      if (now >= plan.replicas) log?.info?.({ stream, from: current, to: now }, 'stream replicas raised');
      else log?.warn({ stream, current: now, wanted: plan.replicas }, 'the NATS server kept fewer stream replicas than asked (not clustered?)');
      return now;
    } catch (err) {
      log?.warn({ err, stream, current, wanted: plan.replicas }, 'cannot raise stream replicas now (not enough JetStream nodes?); kept');
    }
  }
  const info = await jsm.streams.update(stream, { ...config, num_replicas: current });
  return info.config.num_replicas;
}

/**
 * For a stream someone else configures (a KV bucket, created by `js.views.kv(bucket, { replicas })`):
 * raise it to `wanted` replicas if it exists with fewer, never lower it, and return the count to pass
 * when creating it. Typical use:
 *
 *   const { replicas } = await ensureStreamReplicas(jsm, kvStreamName(bucket), cfg.natsReplicas, log);
 *   const kv = await js.views.kv(bucket, { history: 1, replicas });
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, stream: string, wanted: number, log?: ReplicaLog): Promise<ReplicaPlan> {
  const info = await streamInfoOrUndefined(jsm, stream);
  const plan = planReplicas(info?.config.num_replicas, wanted);
  if (plan.action === 'keep') {
    if (plan.replicas > wanted) log?.info?.({ stream, replicas: plan.replicas, setting: wanted }, 'stream has more replicas than the setting; kept');
    return plan;
  }
  if (plan.action === 'create') return plan;
  const now = await updateKeepingReplicas(jsm, stream, info!.config, plan, log);
  return { ...plan, action: now > plan.current! ? 'raise' : 'keep', replicas: now };
}
