// Step 4 of a change: an account's topic rules reach its live sessions on this replica
// (docs/permissions.md, "A change reaches live sessions"). Each session gets its rules compiled again
// for its identity; from its next PUBLISH, SUBSCRIBE and delivery on, the new rules decide. A session
// holding a subscription the new rules forbid loses it (from the shared session store too, so a
// persistent session does not get it back) and is ended: MQTT 3.1.1 cannot tell a client that a
// subscription went away, and a device that silently stops receiving is the worst surprise. It
// reconnects, and its new SUBSCRIBE is answered 0x80.
import type { Client } from 'aedes';
import { ConnectReasons, sameTopicRules, type TopicRule } from '@twoway/contracts';
import { escapeField } from '@twoway/telemetry';
import type { Session } from '../sessions/session-registry.js';
import { unmountTopic } from '../topics.js';
import { compileTopicRules } from '../topic-rules/compile.js';
import { endSession, type KickDeps } from './kick.js';
import type { Change } from './decode-change.js';

/** What this step uses of aedes' persistence (the shared session store, cluster/persistence/). */
interface SessionStore {
  removeSubscriptions(c: Client, topics: string[]): Promise<void>;
  delWill(c: { id: string; brokerId: string }): Promise<unknown>;
}

/** Filters named in the `session.ended` event; the rest are counted. */
const LISTED_FILTERS = 10;

/** Applies the rules of a `settings.changed` event; returns how many sessions it ended. */
export function applyTopicRules(c: Change, d: KickDeps): number {
  if (c.type !== 'settings.changed') return 0;
  let ended = 0;
  for (const s of d.sessions.ofAccount(c.account)) {
    if (restrictSession(s, c.after.topicRules, d, { eventId: c.eventId }, c.timeMs)) ended += 1;
  }
  return ended;
}

/**
 * Gives `s` the permissions of `rules`; ends it when one of its subscriptions is now forbidden.
 * Returns whether it ended the session. Also used after a resync (the rules may have changed meanwhile).
 */
export function restrictSession(s: Session, rules: readonly TopicRule[] | undefined, d: KickDeps, detail: Record<string, unknown>, eventTimeMs?: number): boolean {
  const topics = s.topics;
  if (s.ending || !topics) return false;
  if (!sameTopicRules(topics.permissions?.rules, rules)) topics.permissions = compileTopicRules(rules, topics.identity);
  const p = topics.permissions;
  if (!p) return false;
  const client = s.client as Client & { subscriptions?: Record<string, unknown>; will?: { topic?: string } | null; broker: { id: string; persistence: SessionStore } };
  // The stored will: another replica publishes it unchecked when this one is gone (topics.ts dropForbiddenWill).
  const will = typeof client.will?.topic === 'string' ? unmountTopic(s.accountId, client.will.topic) : undefined;
  if (will !== undefined && !p.allows(p.publish(will))) {
    client.will = null;
    client.broker.persistence.delWill({ id: client.id, brokerId: client.broker.id }).catch((err: unknown) => d.log.warn({ err, clientId: s.clientId, account: s.accountId }, 'could not delete a will the topic rules now refuse'));
  }
  const forbidden: { mounted: string; device: string }[] = [];
  for (const mounted of Object.keys(client.subscriptions ?? {})) {
    const device = unmountTopic(s.accountId, mounted);
    if (device !== undefined && !p.allows(p.subscribe(device))) forbidden.push({ mounted, device });
  }
  if (forbidden.length === 0) return false;
  if (!client.clean) {
    // A persistent session keeps its subscriptions in the shared store after it ends: remove them there.
    client.broker.persistence.removeSubscriptions(client, forbidden.map((f) => f.mounted)).catch((err: unknown) =>
      // Its reconnect re-checks every stored subscription (topics.ts authorizeSubscribe), so a failure here leaks nothing.
      d.log.warn({ err, clientId: s.clientId, account: s.accountId }, 'could not remove forbidden subscriptions from the session store'),
    );
  }
  endSession(
    s,
    ConnectReasons.SESSION_TOPIC_RULES_CHANGED,
    { ...detail, filters: forbidden.slice(0, LISTED_FILTERS).map((f) => escapeField(f.device)), ...(forbidden.length > LISTED_FILTERS ? { moreFilters: forbidden.length - LISTED_FILTERS } : {}) },
    d,
    eventTimeMs,
  );
  return true;
}
