// A PUBLISH or SUBSCRIBE the topic rules refused: counted every time, audited as
// `session.topic_denied` at most TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE times per session and minute,
// so a device looping on a forbidden topic cannot flood the audit stream. The next audited denial
// says how many went unaudited before it (`detail.unaudited`).
import { ConnectReasons, type ConnectReason, type TopicRule } from '@twoway/contracts';
import { escapeField, type Logger } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import { topicDeniedEvent } from '../connect/audit.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { Session } from '../sessions/session-registry.js';
import { NO_RULE, compileTopicRules, type TopicIdentity, type TopicPermissions } from './compile.js';

/** Ten a minute tell an operator what a device tries without letting a loop fill the audit store. */
export const DEFAULT_TOPIC_DENIALS_AUDITED_PER_MINUTE = 10;
const WINDOW_MS = 60_000;
/** Topics are device-supplied: this much reaches the audit event and the log, escaped. */
const TOPIC_AUDIT_CHARS = 256;

/** Per session: a fixed one-minute window of audited denials. Pure: time passed in. */
export class DenialBudget {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private audited = 0;
  private unaudited = 0;
  constructor(private readonly perMinute: number) {}

  /** For a denial at `nowMs`: undefined when it goes unaudited, else how many went unaudited since the last audited one. */
  take(nowMs: number): number | undefined {
    if (nowMs - this.windowStartMs >= WINDOW_MS) {
      this.windowStartMs = nowMs;
      this.audited = 0;
    }
    if (this.audited >= this.perMinute) {
      this.unaudited += 1;
      return undefined;
    }
    this.audited += 1;
    const before = this.unaudited;
    this.unaudited = 0;
    return before;
  }
}

/** What a live session holds of the topic rules (sessions/session-registry.ts `Session.topics`). */
export interface SessionTopics {
  /** The identity placeholders stand for, kept to compile the account's next rules. */
  readonly identity: TopicIdentity;
  /** Undefined while the account has no rules. Replaced when they change (revocation/apply-topic-rules.ts). */
  permissions: TopicPermissions | undefined;
  readonly denials: DenialBudget;
}

export function sessionTopics(rules: readonly TopicRule[] | undefined, identity: TopicIdentity, deniedAuditedPerMinute: number): SessionTopics {
  return { identity, permissions: compileTopicRules(rules, identity), denials: new DenialBudget(deniedAuditedPerMinute) };
}

export type TopicAction = 'publish' | 'subscribe';
export type OnTopicDenied = (s: Session, action: TopicAction, deviceTopic: string, rule: number) => void;

export function topicDenials(d: { audit: AuditQueue; metrics: BrokerMetrics; log: Logger; source: string; now?: () => number }): OnTopicDenied {
  const now = d.now ?? Date.now;
  return (s, action, deviceTopic, rule) => {
    const reason: ConnectReason = rule === NO_RULE ? ConnectReasons.TOPIC_NOT_ALLOWED : ConnectReasons.TOPIC_DENIED;
    d.metrics.topicDenials.inc({ action, reason });
    const nowMs = now();
    const unaudited = s.topics?.denials.take(nowMs);
    if (unaudited === undefined) {
      d.metrics.topicDenialsUnaudited.inc();
      return;
    }
    const detail = { action, topic: escapeField(deviceTopic, TOPIC_AUDIT_CHARS), ...(rule === NO_RULE ? {} : { rule }), ...(unaudited > 0 ? { unaudited } : {}) };
    d.audit.push(topicDeniedEvent(reason, { clientId: s.clientId, username: s.username, leaf: s.leaf, sourceAddress: s.sourceAddress, accountId: s.accountId, ancestry: s.ancestry }, { source: d.source, nowMs }, detail));
    d.log.info({ clientId: escapeField(s.clientId, 128), account: s.accountId, reason, ...detail }, 'topic denied');
  };
}
