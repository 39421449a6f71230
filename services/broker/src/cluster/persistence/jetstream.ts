// Creating the session store's streams and KV buckets, and small JetStream error facts.
import { type JetStreamManager, type NatsConnection, type StreamConfig, type KV, type KvOptions, NatsError } from 'nats';

/** JetStream API error code and description, when `err` carries them. */
export function apiError(err: unknown): { errCode?: number; code?: number; description?: string } {
  const api = (err as { api_error?: { err_code?: number; code?: number; description?: string } } | undefined)?.api_error;
  if (api) return { errCode: api.err_code, code: api.code, description: api.description };
  if (err instanceof NatsError) return { description: err.message };
  return {};
}

/** 10037 (MSG.GET), 10057 (MSG.DELETE): the message is not there. */
export function isNoMessage(err: unknown): boolean {
  const { errCode, description } = apiError(err);
  return errCode === 10037 || errCode === 10057 || description === 'no message found';
}

/** 10071: an expected last (subject) sequence did not match. */
export function isWrongLastSequence(err: unknown): boolean {
  const { errCode, description } = apiError(err);
  return errCode === 10071 || (description?.startsWith('wrong last sequence') ?? false);
}

/**
 * Create the stream when missing. An existing stream keeps its configuration, except the `limits` fields
 * (set to the current settings) and its replica count, raised to `num_replicas` when lower: never
 * lowered, so a smaller setting on one replica cannot weaken what an operator (or another replica) set.
 */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, limits: readonly (keyof StreamConfig)[] = []): Promise<void> {
  let info;
  try {
    info = await jsm.streams.info(config.name);
  } catch (err) {
    if ((err as Error).message !== 'stream not found') throw err;
    try {
      await jsm.streams.add(config);
    } catch (e) {
      // Another replica created it in between.
      if (!/already in use/.test((e as Error).message)) throw e;
    }
    return;
  }
  const want = config.num_replicas ?? 1;
  const next: Partial<StreamConfig> = { ...info.config };
  let changed = false;
  if (info.config.num_replicas < want) {
    next.num_replicas = want;
    changed = true;
  }
  for (const k of limits) {
    if (config[k] !== undefined && info.config[k] !== config[k]) {
      (next as Record<string, unknown>)[k] = config[k];
      changed = true;
    }
  }
  if (changed) await jsm.streams.update(config.name, next);
}

/** A KV bucket (created when missing) with its replica count raised like ensureStream. */
export async function openKv(nc: NatsConnection, bucket: string, opts: Partial<KvOptions> & { replicas: number }): Promise<KV> {
  const kv = await nc.jetstream().views.kv(bucket, { history: 1, ...opts });
  await ensureStream(await nc.jetstreamManager(), { name: `KV_${bucket}`, num_replicas: opts.replicas });
  return kv;
}

/** Which bound of the outgoing-queue stream refused a publish, if one did (nats-server 2.9 codes and texts). */
export function refusalOf(err: unknown): 'QUEUE_FULL' | 'QUEUE_BYTES' | undefined {
  const { errCode, description } = apiError(err);
  if (description === 'maximum messages per subject exceeded') return 'QUEUE_FULL';
  if (errCode === 10054 || description === 'message size exceeds maximum allowed' || description === 'maximum bytes exceeded') return 'QUEUE_BYTES';
  if ((err as { code?: unknown } | undefined)?.code === 'MAX_PAYLOAD_EXCEEDED') return 'QUEUE_BYTES';
  return undefined;
}
