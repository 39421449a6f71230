// Benchmark: what topic rules cost per message and per session, in-process on the broker's own hooks
// (topics.ts `authorizePublish`, `authorizeForward`, `authorizeSubscribe` with sessions compiled by
// topic-rules/). Each hook is timed without rules (the namespace check alone, today's path) and with
// rules, so the difference is what the rules add. CPU time of this process (process.cpuUsage), median
// of the rounds: contention on a shared machine inflates it less than wall time.
//   node --expose-gc --import tsx services/broker/bench/topic-rules.bench.ts [--ops 2000000] [--rounds 7] [--sessions 10000]
import { parseArgs } from 'node:util';
import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { TopicRule } from '@twoway/contracts';
import { SessionRegistry, type Session } from '../src/sessions/session-registry.js';
import { mountTopic, topicAuthorizers } from '../src/topics.js';
import { sessionTopics } from '../src/topic-rules/denials.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '7' }, sessions: { type: 'string', default: '10000' } } });
const OPS = Number(values.ops);
const ROUNDS = Number(values.rounds);
const SESSIONS = Number(values.sessions);
const ACC = '3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10';

/** `effect action filter` → a rule. */
const rule = (line: string): TopicRule => {
  const [effect, action, filter] = line.split(' ') as [TopicRule['effect'], TopicRule['action'], string];
  return { effect, action, filter };
};
/** A fleet's usual shape: its own subtree, a telemetry topic by username, a config topic by CN, a broadcast. */
const TYPICAL: TopicRule[] = ['deny both devices/${clientId}/admin/#', 'allow both devices/${clientId}/#', 'allow publish telemetry/${username}', 'allow subscribe fleet/${cn}/config', 'allow subscribe broadcast/#'].map(rule);
/** The default bound (TWOWAY_TOPIC_RULES_MAX = 50), the deciding rule last: the worst case of a full list. */
const FULL: TopicRule[] = [...Array.from({ length: 49 }, (_, i) => `allow both zone-${i}/+/\${clientId}/#`), 'allow both devices/${clientId}/#'].map(rule);

const identity = { username: 'alice', cn: 'sensor-7', clientId: 'c7' };
const noop = () => undefined;

function sessionFor(rules: TopicRule[] | undefined, client: Client): Session {
  return {
    id: 's', client, clientId: identity.clientId, accountId: ACC, ancestry: [ACC], credentialId: 'cred', username: identity.username,
    sourceAddress: undefined, transport: 'tls', fingerprints: [], presented: [], malformed: false, leaf: undefined, mode: 'mutual',
    facts: {} as Session['facts'], ending: false, topics: sessionTopics(rules, identity, 10),
  };
}

const cpuNs = (u: NodeJS.CpuUsage) => (u.user + u.system) * 1000;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** ns of CPU per call of `fn(i)`, median of the rounds after one warm-up round. */
function perOp(fn: (i: number) => void, ops = OPS): number {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < ops; i++) fn(i);
    if (r > 0) rounds.push(cpuNs(process.cpuUsage(t0)) / ops);
  }
  return median(rounds);
}

const publishTopic = mountTopic(ACC, 'devices/c7/temp');
const telemetryTopic = mountTopic(ACC, 'telemetry/alice');
const deliverTopic = mountTopic(ACC, 'devices/c7/cmd');

function measure(rules: TopicRule[] | undefined) {
  const sessions = new SessionRegistry();
  const client = { id: `${ACC}/c7` } as unknown as Client;
  sessions.add(sessionFor(rules, client));
  const hooks = topicAuthorizers(sessions, { denied: noop, withheld: noop });
  const pub = { cmd: 'publish', topic: publishTopic, payload: Buffer.alloc(64), qos: 1, retain: false, dup: false } as unknown as PublishPacket;
  const tel = { ...pub, topic: telemetryTopic } as PublishPacket;
  const fwd = { ...pub, topic: deliverTopic } as unknown as AedesPublishPacket;
  const sub = { topic: mountTopic(ACC, 'devices/c7/cmd/#'), qos: 1 } as Subscription;
  return {
    // The topic is set again each call: a refused PUBLISH has its topic replaced (topics.ts DENIED_TOPIC).
    publish: perOp(() => {
      pub.topic = publishTopic;
      hooks.authorizePublish(client, pub, noop);
    }),
    publishLater: perOp(() => {
      tel.topic = telemetryTopic;
      hooks.authorizePublish(client, tel, noop);
    }),
    forward: perOp(() => {
      fwd.topic = deliverTopic;
      hooks.authorizeForward(client, fwd);
    }),
    subscribe: perOp(() => hooks.authorizeSubscribe(client, sub, noop), Math.max(1, OPS / 10)),
  };
}

function compileCost(rules: TopicRule[]): { usPerSession: number; bytesPerSession: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  const keep: Session[] = [];
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.cpuUsage();
  for (let i = 0; i < SESSIONS; i++) keep.push(sessionFor(rules, { id: `c${i}` } as unknown as Client));
  const us = cpuNs(process.cpuUsage(t0)) / 1000 / SESSIONS;
  gc?.();
  const bytes = (process.memoryUsage().heapUsed - heap0) / SESSIONS;
  if (keep.length !== SESSIONS) throw new Error('unreachable');
  return { usPerSession: us, bytesPerSession: bytes };
}

const none = measure(undefined);
const typical = measure(TYPICAL);
const full = measure(FULL);
const baseSession = compileCost([]);
const typicalSession = compileCost(TYPICAL);
const fullSession = compileCost(FULL);

const f = (x: number) => x.toFixed(0);
console.log(`\ncommand: node --expose-gc --import tsx services/broker/bench/topic-rules.bench.ts --ops ${OPS} --rounds ${ROUNDS} --sessions ${SESSIONS}`);
console.log('CPU ns per hook call, median of rounds (no rules = the namespace check alone)');
console.log('| hook | no rules | 5 rules (typical) | 50 rules, deciding rule last |');
console.log('| --- | --- | --- | --- |');
console.log(`| authorizePublish devices/c7/temp (typical: rule 1 decides; 50: rule 49) | ${f(none.publish)} | ${f(typical.publish)} | ${f(full.publish)} |`);
console.log(`| authorizePublish telemetry/alice (typical: rule 2 decides; 50: none, refused) | ${f(none.publishLater)} | ${f(typical.publishLater)} | ${f(full.publishLater)} |`);
console.log(`| authorizeForward (a delivery) | ${f(none.forward)} | ${f(typical.forward)} | ${f(full.forward)} |`);
console.log(`| authorizeSubscribe (devices/c7/cmd/#) | ${f(none.subscribe)} | ${f(typical.subscribe)} | ${f(full.subscribe)} |`);
console.log('\nper session at connect (compiling its rules; heap it keeps, measured over the whole Session object)');
console.log('| rules | CPU µs a session | heap bytes a session |');
console.log('| --- | --- | --- |');
console.log(`| none | ${baseSession.usPerSession.toFixed(2)} | ${f(baseSession.bytesPerSession)} |`);
console.log(`| 5 (typical, 4 with placeholders) | ${typicalSession.usPerSession.toFixed(2)} | ${f(typicalSession.bytesPerSession)} |`);
console.log(`| 50 (all with placeholders) | ${fullSession.usPerSession.toFixed(2)} | ${f(fullSession.bytesPerSession)} |`);
