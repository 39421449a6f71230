// Example downstream consumer of the twoway audit stream (docs/asyncapi.yaml, docs/audit.md).
// Creates its own durable JetStream consumer, tails the stream from a chosen point and prints each
// audit event as one JSON line (NDJSON) on stdout. Delivery is at-least-once: deduplicate by `id`.
//
//   node --import tsx examples/audit-consumer/consumer.ts [--nats URL] [--durable NAME]
//        [--from-start | --since ISO-TIME | --seq N] [--filter SUBJECT] [--limit N]
//
// The start point applies when the durable consumer is created; a later run with the same --durable
// resumes after the last event it acknowledged (delete the consumer to start over).
import { parseArgs } from 'node:util';
import { AckPolicy, connect, DeliverPolicy, type ConsumerConfig } from 'nats';
import { Value } from '@sinclair/typebox/value';
import { AuditEvent, Streams } from '@twoway/contracts';

const { values: a } = parseArgs({
  options: {
    nats: { type: 'string', default: process.env.TWOWAY_NATS_URL ?? 'nats://127.0.0.1:4222' },
    durable: { type: 'string', default: 'audit-example' },
    'from-start': { type: 'boolean', default: false },
    since: { type: 'string' },
    seq: { type: 'string' },
    filter: { type: 'string', default: Streams.Audit.subjects[0] },
    limit: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (a.help) {
  process.stderr.write('usage: consumer.ts [--nats URL] [--durable NAME] [--from-start | --since ISO | --seq N] [--filter SUBJECT] [--limit N]\n');
  process.exit(0);
}

/** Where a new durable consumer starts: everything, a time, a stream sequence, or only new events. */
function startPoint(): Partial<ConsumerConfig> {
  if (a.seq) {
    const n = Number(a.seq);
    if (!Number.isInteger(n) || n < 1) throw new Error('--seq must be a stream sequence number >= 1');
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: n };
  }
  if (a.since) {
    if (Number.isNaN(Date.parse(a.since))) throw new Error('--since must be an ISO 8601 time, e.g. 2026-11-23T00:00:00Z');
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(a.since).toISOString() };
  }
  return { deliver_policy: a['from-start'] ? DeliverPolicy.All : DeliverPolicy.New };
}

const limit = a.limit ? Number(a.limit) : Number.POSITIVE_INFINITY;
const nc = await connect({ servers: a.nats!.split(','), name: `audit-consumer-${a.durable}`, maxReconnectAttempts: -1 });
const jsm = await nc.jetstreamManager();
try {
  await jsm.consumers.info(Streams.Audit.name, a.durable!);
  process.stderr.write(`resuming durable consumer ${a.durable}\n`);
} catch {
  await jsm.consumers.add(Streams.Audit.name, {
    durable_name: a.durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: a.filter,
    ...startPoint(),
  });
  process.stderr.write(`created durable consumer ${a.durable}\n`);
}

const consumer = await nc.jetstream().consumers.get(Streams.Audit.name, a.durable!);
const messages = await consumer.consume({ max_messages: 256 });
const stop = () => void messages.close();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

let printed = 0;
for await (const m of messages) {
  let event: unknown;
  try {
    event = m.json();
  } catch {
    event = undefined;
  }
  if (!Value.Check(AuditEvent, event)) {
    // Not an audit event of this contract version: say so and move on rather than stall the tail.
    process.stderr.write(`skipping seq ${m.seq} on ${m.subject}: not an AuditEvent\n`);
    m.term();
    continue;
  }
  // Acknowledge once the line is handed to stdout, so a crash replays rather than loses it.
  if (!process.stdout.write(`${JSON.stringify(event)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
  m.ack();
  if (++printed >= limit) break;
}
await nc.drain();
