// Step 4 of a change, given-when-then on a live session held by a fake aedes client: what a new rule
// list does to its permissions, its subscriptions, its stored will and the session itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Client } from 'aedes';
import type { AuditEvent, Settings, TopicRule } from '@twoway/contracts';
import { DEFAULT_SETTINGS } from '@twoway/contracts';
import type { AuditQueue } from '../audit/audit-queue.js';
import { BrokerMetrics } from '../http/metrics.js';
import type { Owners } from '../nats/owners.js';
import { SessionRegistry, type Session } from '../sessions/session-registry.js';
import { sessionTopics } from '../topic-rules/denials.js';
import { dropForbiddenWill, mountTopic } from '../topics.js';
import { applyTopicRules } from './apply-topic-rules.js';
import type { KickDeps } from './kick.js';
import type { Change } from './decode-change.js';

const ACC = 'acc-1';
const allow = (action: TopicRule['action'], filter: string): TopicRule => ({ effect: 'allow', action, filter });
const BEFORE: TopicRule[] = [allow('both', 'devices/${clientId}/#'), allow('both', 'broadcast/#'), allow('publish', 'status/${clientId}')];

function setup(o: { clean: boolean; subscriptions: string[]; will?: string; rules?: TopicRule[] }) {
  const calls: string[] = [];
  const client = {
    id: `${ACC}/c7`,
    clean: o.clean,
    subscriptions: Object.fromEntries(o.subscriptions.map((t) => [mountTopic(ACC, t), { qos: 1 }])),
    will: o.will ? { topic: mountTopic(ACC, o.will) } : null,
    conn: { destroy: () => calls.push('socket destroyed') },
    close: () => calls.push('closed'),
    broker: {
      id: 'broker-1',
      persistence: {
        removeSubscriptions: async (_c: unknown, topics: string[]) => void calls.push(`store: unsubscribe ${topics.join(',')}`),
        delWill: async (c: { id: string; brokerId: string }) => void calls.push(`store: delete will of ${c.id} on ${c.brokerId}`),
      },
    },
  } as unknown as Client;
  const sessions = new SessionRegistry();
  const s = {
    id: 's-1', client, clientId: 'c7', accountId: ACC, ancestry: [ACC, 'provider'], credentialId: 'cred-1', username: 'alice',
    sourceAddress: undefined, transport: 'tls', fingerprints: [], caIdentities: [], presented: [], malformed: false, leaf: undefined, mode: 'plain',
    facts: {} as Session['facts'], ending: false, topics: sessionTopics(o.rules ?? BEFORE, { username: 'alice', cn: undefined, clientId: 'c7' }, 10),
  } satisfies Session;
  sessions.add(s);
  const events: AuditEvent[] = [];
  const metrics = new BrokerMetrics();
  const d: KickDeps = {
    sessions, metrics, owners: {} as Owners, audit: { push: (e: AuditEvent) => events.push(e) } as unknown as AuditQueue,
    log: pino({ level: 'silent' }), source: 'broker-1', staleAfterMs: 10_000,
  };
  return { s, d, calls, events, metrics, sessions };
}

const changed = (rules: TopicRule[] | undefined): Change => ({
  type: 'settings.changed', eventId: 'ev-1', account: ACC, timeMs: Date.now(),
  after: { ...DEFAULT_SETTINGS, ...(rules ? { topicRules: rules } : {}) } satisfies Settings,
});

describe('apply-topic-rules: a rule change on a live session', () => {
  it('given only subscriptions the new rules allow, when they arrive, then the session stays and obeys them at once', () => {
    const { s, d, calls, events } = setup({ clean: true, subscriptions: ['devices/c7/cmd'] });
    assert.equal(s.topics.permissions!.allows(s.topics.permissions!.publish('status/c7')), true);
    assert.equal(applyTopicRules(changed([allow('both', 'devices/${clientId}/#')]), d), 0);
    assert.deepEqual([calls, events, s.ending], [[], [], false]);
    assert.equal(s.topics.permissions!.allows(s.topics.permissions!.publish('status/c7')), false);
  });

  it('given a persistent session subscribed to what the new rules forbid, then those subscriptions leave the store and the session ends', () => {
    const { s, d, calls, events, metrics, sessions } = setup({ clean: false, subscriptions: ['devices/c7/cmd', 'broadcast/#'] });
    assert.equal(applyTopicRules(changed([allow('both', 'devices/${clientId}/#')]), d), 1);
    assert.deepEqual(calls, [`store: unsubscribe ${ACC}/broadcast/#`, 'socket destroyed', 'closed']);
    assert.equal(sessions.get(s.client), undefined);
    assert.deepEqual(events.map((e) => [e.type, e.reason, e.detail]), [['session.ended', 'SESSION_TOPIC_RULES_CHANGED', { eventId: 'ev-1', filters: ['broadcast/#'] }]]);
    assert.equal(metrics.sessionsEnded.get({ reason: 'SESSION_TOPIC_RULES_CHANGED' }), 1);
  });

  it('given a clean session, then nothing is left in the store to remove: it only ends', () => {
    const { d, calls } = setup({ clean: true, subscriptions: ['broadcast/#'] });
    assert.equal(applyTopicRules(changed([allow('both', 'devices/${clientId}/#')]), d), 1);
    assert.deepEqual(calls, ['socket destroyed', 'closed']);
  });

  it('given a stored will the new rules refuse, then it is deleted (another replica would publish it unchecked) and the session stays', () => {
    const { s, d, calls } = setup({ clean: false, subscriptions: [], will: 'status/c7' });
    assert.equal(applyTopicRules(changed([allow('both', 'devices/${clientId}/#')]), d), 0);
    assert.deepEqual(calls, [`store: delete will of ${ACC}/c7 on broker-1`]);
    assert.equal((s.client as unknown as { will: unknown }).will, null);
  });

  it('given the rules removed, then the session has the whole namespace again', () => {
    const { s, d } = setup({ clean: true, subscriptions: ['broadcast/#'] });
    assert.equal(applyTopicRules(changed(undefined), d), 0);
    assert.equal(s.topics.permissions, undefined);
  });

  it('given a change of another account, then nothing happens to this one', () => {
    const { s, d, calls } = setup({ clean: false, subscriptions: ['broadcast/#'] });
    assert.equal(applyTopicRules({ ...changed([]), account: 'acc-2' } as Change, d), 0);
    assert.deepEqual([calls, s.ending], [[], false]);
  });
});

describe('dropForbiddenWill: a will at CONNECT', () => {
  it('is dropped and reported when the rules refuse its topic, kept when they allow it', () => {
    const { s } = setup({ clean: true, subscriptions: [] });
    const reported: string[] = [];
    const denied = (_s: Session, action: string, topic: string, rule: number) => void reported.push(`${action} ${topic} ${rule}`);
    const refused = { _will: { topic: 'status/c8' } } as unknown as Client;
    dropForbiddenWill(refused, s, denied);
    assert.equal((refused as unknown as { _will: unknown })._will, null);
    const allowed = { _will: { topic: 'status/c7' } } as unknown as Client;
    dropForbiddenWill(allowed, s, denied);
    assert.deepEqual((allowed as unknown as { _will: unknown })._will, { topic: 'status/c7' });
    assert.deepEqual(reported, ['publish status/c8 -1']);
  });
});
