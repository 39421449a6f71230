// Tenant isolation of topics: each account is its own namespace (a mountpoint, as EMQX calls it).
//
// The mount is applied at the wire edge and nowhere else: a PUBLISH, SUBSCRIBE or UNSUBSCRIBE from a
// device is rewritten as it is parsed, the will when its CONNECT is accepted, and the prefix is stripped
// again as a message is written to a device (`authorizeForward`). Inside the broker every topic is
// mounted, so retained messages, stored subscriptions of persistent sessions, offline queues, QoS 2
// state and wills (aedes' persistence, shared by the replicas) all hold mounted topics, and a session
// restored from persistence needs no second rewrite. The authorize hooks only check that a topic lies
// inside the client's namespace.
//
// Layout: `t` of account `m` is `m/t`; a topic that starts with `$` is `$/m/t`. [MQTT-4.7.2-1] a
// subscription starting with a wildcard must not match topics starting with `$`: `#` mounts as `m/#`,
// which cannot match `$/m/$foo`, while `$foo/#` mounts as `$/m/$foo/#` and does. aedes' own `$SYS/`
// topics stay outside every namespace.
import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { Session, SessionRegistry } from './sessions/session-registry.js';
import type { OnTopicDenied } from './topic-rules/denials.js';

const DOLLAR = 36; // '$'

/** The broker-internal form of device topic (or filter) `topic` in account `account`. */
export function mountTopic(account: string, topic: string): string {
  return topic.charCodeAt(0) === DOLLAR ? `$/${account}/${topic}` : `${account}/${topic}`;
}

/** The device's form of a mounted topic, or undefined when it is not inside `account`'s namespace. */
export function unmountTopic(account: string, topic: string): string | undefined {
  if (topic.charCodeAt(0) === DOLLAR) {
    const prefix = `$/${account}/`;
    // Only `$`-topics live under `$/m/`: anything else there was not made by mountTopic.
    return topic.startsWith(prefix) && topic.charCodeAt(prefix.length) === DOLLAR ? topic.slice(prefix.length) : undefined;
  }
  const prefix = `${account}/`;
  return topic.startsWith(prefix) && topic.charCodeAt(prefix.length) !== DOLLAR ? topic.slice(prefix.length) : undefined;
}

type Callback = (err?: Error | null) => void;

/**
 * Where a PUBLISH the topic rules refused goes instead: outside every namespace (no device filter is
 * mounted under it), so nothing stores, queues or delivers it, and no replica is interested in it.
 */
export const DENIED_TOPIC = '$twoway/denied';
const EMPTY = Buffer.alloc(0);

export interface TopicRuleHooks {
  /** A PUBLISH or SUBSCRIBE refused by the account's topic rules (topic-rules/denials.ts). */
  denied: OnTopicDenied;
  /** A delivery withheld: the session may no longer receive that topic. */
  withheld(): void;
}

export function topicAuthorizers(sessions: SessionRegistry, rules?: TopicRuleHooks) {
  return {
    authorizePublish(client: Client | null, packet: PublishPacket, cb: Callback): void {
      // No client: the broker's own publish, or a stored will another replica publishes for a
      // device that is gone; its topic was mounted when the will was accepted.
      if (!client) return cb(null);
      const s = sessions.get(client);
      const m = s?.accountId;
      if (!m) return cb(new Error('not authorized'));
      const t = unmountTopic(m, packet.topic);
      if (t === undefined) return cb(new Error('topic outside the account'));
      // As aedes' default: devices do not publish to `$SYS/` (the mount would make it harmless anyway).
      if (t.startsWith('$SYS/')) return cb(new Error('$SYS topics are reserved'));
      const p = s.topics?.permissions;
      if (p) {
        const rule = p.publish(t);
        if (!p.allows(rule)) {
          // [MQTT-3.3.5-2] acknowledged as usual and dropped, as Mosquitto does: the device is not
          // disconnected, so a forbidden topic does not turn into a reconnect loop (docs/permissions.md).
          rules?.denied(s, 'publish', t, rule);
          packet.topic = DENIED_TOPIC;
          packet.retain = false;
          packet.payload = EMPTY;
        }
      }
      cb(null);
    },
    authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, s?: Subscription | null) => void): void {
      const s = sessions.get(client);
      const m = s?.accountId;
      if (!m) return cb(new Error('not authorized'));
      // Refused with SUBACK 0x80, not the connection: a filter outside the namespace, and `$SYS`
      // (broker-internal, as for publishing; mounted it would only ever see the account's own).
      const t = unmountTopic(m, sub.topic);
      if (t === undefined || t === '$SYS' || t.startsWith('$SYS/')) return cb(null, null);
      // Topic rules: SUBACK 0x80 as well. A persistent session's stored subscriptions pass here again
      // when it reconnects, so one the rules now forbid is not restored.
      const p = s.topics?.permissions;
      if (p) {
        const rule = p.subscribe(t);
        if (!p.allows(rule)) {
          rules?.denied(s, 'subscribe', t, rule);
          return cb(null, null);
        }
      }
      cb(null, sub);
    },
    /**
     * Rewrites `packet` in place. aedes hands this hook a copy made for this one delivery, and when it
     * replays a persistent session's queue it writes the packet it passed here, not the one returned
     * (lib/handlers/connect.js emptyQueueFilter): a returned copy would put the mount on the wire.
     */
    authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
      const s = sessions.get(client);
      const t = s ? unmountTopic(s.accountId, packet.topic) : undefined;
      if (t === undefined) return null;
      // A subscription granted under earlier rules (a persistent session's queue, a change being
      // applied) delivers nothing the current rules refuse; a queued message withheld is cleared.
      const p = s!.topics?.permissions;
      if (p && !p.allows(p.receive(t))) {
        rules?.withheld();
        return null;
      }
      packet.topic = t;
      return packet;
    },
  };
}

interface ParsedPacket {
  cmd: string;
  topic?: string;
  subscriptions?: { topic: string }[];
  unsubscriptions?: string[];
}

function mountPacket(account: string, p: ParsedPacket): void {
  if (p.cmd === 'publish' && typeof p.topic === 'string' && p.topic.length > 0) p.topic = mountTopic(account, p.topic);
  else if (p.cmd === 'subscribe' && p.subscriptions) for (const s of p.subscriptions) s.topic = mountTopic(account, s.topic);
  else if (p.cmd === 'unsubscribe' && p.unsubscriptions) p.unsubscriptions = p.unsubscriptions.map((t) => mountTopic(account, t));
}

/**
 * Mount every PUBLISH, SUBSCRIBE and UNSUBSCRIBE of `client` as it is parsed, before aedes sees it.
 * aedes has no hook for UNSUBSCRIBE, and its SUBSCRIBE path stores the packet's own subscription
 * objects and looks retained messages up by their topics, so the packet itself must carry the mount.
 * Packets that arrive before the CONNECT is decided wait in aedes' queue until `connected`; they are
 * mounted just before aedes dequeues them (a refused device never reaches `connected`).
 */
export function mountInbound(client: Client, sessions: SessionRegistry): void {
  const c = client as unknown as {
    _parser?: { prependListener(ev: 'packet', f: (p: ParsedPacket) => void): void };
    prependOnceListener(ev: 'connected', f: () => void): void;
  };
  const early: ParsedPacket[] = [];
  c._parser?.prependListener('packet', (p) => {
    if (p.cmd === 'connect') return;
    const m = sessions.get(client)?.accountId;
    if (m) mountPacket(m, p);
    else early.push(p);
  });
  c.prependOnceListener('connected', () => {
    const m = sessions.get(client)?.accountId;
    for (const p of early.splice(0)) if (m) mountPacket(m, p);
  });
}

/** The will of an accepted CONNECT, mounted before aedes stores it (it may be published by another replica). */
export function mountWill(client: Client, account: string): void {
  const c = client as unknown as { _will?: { topic?: string } | null };
  if (c._will && typeof c._will.topic === 'string') c._will.topic = mountTopic(account, c._will.topic);
}

/**
 * The will of an accepted CONNECT, before it is mounted, against the session's topic rules. A will is
 * published for the device, maybe by another replica once this one is gone, with no session left to
 * check it then: so it is checked now, and one the rules refuse is dropped and reported as a refused
 * PUBLISH. (A rule change checks the stored will again: revocation/apply-topic-rules.ts.)
 */
export function dropForbiddenWill(client: Client, s: Session, denied?: OnTopicDenied): void {
  const c = client as unknown as { _will?: { topic?: string } | null };
  const p = s.topics?.permissions;
  const topic = c._will?.topic;
  if (!p || typeof topic !== 'string') return;
  const rule = p.publish(topic);
  if (p.allows(rule)) return;
  denied?.(s, 'publish', topic, rule);
  c._will = null;
}
