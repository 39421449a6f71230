// Retained messages shared by every broker replica: aedes's in-memory persistence, except that
// `storeRetained` goes through a JetStream key-value bucket (`MqttRetainedBucket`, one key per topic)
// and every replica applies the bucket's changes to its own memory in the bucket's order. A replica that
// starts later loads the current retained set before it listens; the bucket survives restarts.
//
// [MQTT-3.3.1-5] the server stores the retained message for the topic, replacing any previous one;
// [MQTT-3.3.1-10/11] a retained PUBLISH with a zero-length payload removes it.
import memory from 'aedes-persistence';
import type { NatsConnection, KV, KvEntry, QueuedIterator } from 'nats';
import { MqttRetainedBucket } from '@twoway/contracts';
import { decodeEnvelope, encodeEnvelope, packetFromEnvelope, type ForwardablePacket } from './envelope.js';
import type { ClusterLog } from './nats-mq-emitter.js';

/** The persistence methods this module replaces; every other call reaches aedes's memory persistence. */
interface RetainedPersistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: ForwardablePacket): Promise<void>;
  [method: string]: unknown;
}

export interface ClusterRetainedOptions {
  nc: NatsConnection;
  replicaId: string;
  log: ClusterLog;
  /** Bucket name override (tests); default `MqttRetainedBucket`. */
  bucket?: string;
  /** JetStream replicas of the bucket: 3 on a three-node NATS cluster. */
  replicas?: number;
  /** How long a retained PUBLISH waits for the bucket before it fails. */
  timeoutMs?: number;
}

export interface ClusterRetained {
  /** Hand to aedes as `persistence`. */
  readonly persistence: RetainedPersistence;
  /** Resolves once this replica's memory holds everything the bucket held when called. */
  sync(): Promise<void>;
  /** Stop following the bucket. The NATS connection belongs to the caller. */
  stop(): Promise<void>;
}

/** NATS KV keys allow `[-/_=.a-zA-Z0-9]`; MQTT topics allow almost anything, so keys are base64url. */
export const keyOfTopic = (topic: string): string => Buffer.from(topic, 'utf8').toString('base64url');
export const topicOfKey = (key: string): string => Buffer.from(key, 'base64url').toString('utf8');

export class RetainedStoreError extends Error {
  override name = 'RetainedStoreError';
  readonly code = 'MQTT_RETAINED_UNAVAILABLE';
  constructor(readonly topic: string, options?: { cause?: unknown }) {
    super('retained message could not be stored in the cluster', options);
  }
}

export async function createClusterRetained(opts: ClusterRetainedOptions): Promise<ClusterRetained> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const inner = (memory as unknown as () => RetainedPersistence)();
  const kv: KV = await opts.nc.jetstream().views.kv(opts.bucket ?? MqttRetainedBucket, { history: 1, replicas: opts.replicas ?? 1, timeout: timeoutMs });

  // The bucket's stream sequence this replica's memory has caught up with, and who waits for more.
  let applied = 0;
  const waiters: { revision: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  const caughtUp = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.revision <= applied) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };
  const appliedUpTo = (revision: number) =>
    new Promise<void>((resolve, reject) => {
      if (revision <= applied) return resolve();
      waiters.push({ revision, resolve, reject });
    });

  async function apply(e: KvEntry): Promise<void> {
    const topic = topicOfKey(e.key);
    if (e.operation === 'PUT') {
      try {
        const env = decodeEnvelope(e.value);
        if (env.topic !== topic) throw new Error('topic does not match the key');
        await inner.storeRetained({ ...packetFromEnvelope(env), retain: true });
      } catch (err) {
        opts.log.warn({ err, revision: e.revision }, 'ignored an invalid retained message in the bucket');
      }
    } else {
      await inner.storeRetained({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true });
    }
  }

  let initialized!: () => void;
  const ready = new Promise<void>((resolve) => (initialized = resolve));
  const watch: QueuedIterator<KvEntry> = await kv.watch({ initializedFn: () => initialized() });
  let stopping = false;
  const following = (async () => {
    for await (const e of watch) {
      await apply(e);
      applied = Math.max(applied, e.revision);
      caughtUp();
    }
  })().then(
    () => {
      if (!stopping) opts.log.error({}, 'retained-message watch ended; retained messages are no longer shared');
    },
    (err: unknown) => opts.log.error({ err }, 'retained-message watch failed; retained messages are no longer shared'),
  ).finally(() => {
    for (const w of waiters.splice(0)) w.reject(new Error('retained-message watch stopped'));
  });

  // An empty bucket reports initialization at once; otherwise after the last current value.
  await ready;

  async function storeRetained(packet: ForwardablePacket): Promise<void> {
    const key = keyOfTopic(packet.topic);
    const empty = packet.payload === undefined || (typeof packet.payload === 'string' ? packet.payload.length === 0 : packet.payload.byteLength === 0);
    let revision: number;
    try {
      revision = empty ? await deleteKey(key) : await kv.put(key, encodeEnvelope({ ...packet, retain: true }, opts.replicaId));
    } catch (err) {
      opts.log.warn({ err, topicLength: packet.topic.length }, 'retained message not stored');
      throw new RetainedStoreError(packet.topic, { cause: err });
    }
    // aedes sends retained messages to later subscribers from memory: do not return before memory has it.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        appliedUpTo(revision),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new RetainedStoreError(packet.topic, { cause: new Error('watch did not catch up') })), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function lastRevision(): Promise<number> {
    const status = await kv.status();
    return (status as unknown as { streamInfo: { state: { last_seq: number } } }).streamInfo.state.last_seq;
  }

  async function deleteKey(key: string): Promise<number> {
    await kv.delete(key);
    // delete() does not return the marker's revision: the stream's last sequence covers it.
    return lastRevision();
  }

  const overrides: Partial<RetainedPersistence> = {
    async setup(broker: unknown) {
      await inner.setup(broker);
    },
    storeRetained,
  };
  const persistence = new Proxy(inner, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop];
      const v = Reflect.get(target, prop);
      // aedes-persistence keeps state in #private fields: calls must run on the real instance.
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as RetainedPersistence;

  return {
    persistence,
    async sync() {
      await appliedUpTo(await lastRevision());
    },
    async stop() {
      stopping = true;
      watch.stop();
      await following;
    },
  };
}
