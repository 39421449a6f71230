// Tenant isolation of topics: each account is its own namespace. The broker prefixes every topic a
// device publishes or subscribes to with `<accountId>/` (a mountpoint, as EMQX calls it) and strips it
// on delivery, so devices use plain topics and never see another account's messages — wildcards
// included (`#` becomes `<accountId>/#`). `$SYS` topics are aedes-internal and stay unreachable.
import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { SessionRegistry } from './sessions/session-registry.js';

const MOUNT = Symbol('twoway.mount');
type Mounted = PublishPacket & { [MOUNT]?: string };

export function topicAuthorizers(sessions: SessionRegistry) {
  const mountOf = (client: Client | null) => (client ? sessions.get(client)?.accountId : undefined);
  return {
    authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
      // A publish with no client is the broker's own (a stored will): leave it, it reaches no device.
      if (!client) return cb(null);
      const m = mountOf(client);
      if (!m) return cb(new Error('not authorized'));
      const p = packet as Mounted;
      // As aedes' default: clients do not publish to `$SYS/` (the mount would make it harmless anyway).
      if (p[MOUNT] === undefined && packet.topic.startsWith('$SYS/')) return cb(new Error('$SYS topics are reserved'));
      if (p[MOUNT] !== m) {
        p.topic = `${m}/${packet.topic}`;
        p[MOUNT] = m;
      }
      cb(null);
    },
    authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, s?: Subscription | null) => void): void {
      const m = mountOf(client);
      if (!m) return cb(new Error('not authorized'));
      cb(null, { ...sub, topic: `${m}/${sub.topic}` });
    },
    authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
      const m = mountOf(client);
      const prefix = `${m}/`;
      if (!m || !packet.topic.startsWith(prefix)) return null;
      return { ...packet, topic: packet.topic.slice(prefix.length) } as AedesPublishPacket;
    },
  };
}

/**
 * aedes has no authorize hook for UNSUBSCRIBE, so the mount is applied to the packet as it is parsed
 * (before aedes queues it): otherwise `UNSUBSCRIBE foo` would look for `foo`, not `<accountId>/foo`.
 */
export function mountUnsubscribe(client: Client, sessions: SessionRegistry): void {
  const parser = (client as unknown as { _parser?: { prependListener(ev: 'packet', f: (p: { cmd: string; unsubscriptions?: string[] }) => void): void } })._parser;
  parser?.prependListener('packet', (p) => {
    if (p.cmd !== 'unsubscribe' || !p.unsubscriptions) return;
    const m = sessions.get(client)?.accountId;
    if (m) p.unsubscriptions = p.unsubscriptions.map((t) => `${m}/${t}`);
  });
}
