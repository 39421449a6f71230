// Messages the shared session store dropped for a persistent session (queue bound or expiry, reported
// by cluster/persistence): counted at once in a metric, and audited as `session.messages_dropped`, one
// event per session and reason per flush window, so a device that stays away while its queue overflows
// does not turn every refused message into an audit event of its own.
import { randomUUID } from 'node:crypto';
import { AuditTypes, auditAccountPath, type ConnectReason } from '@twoway/contracts';
import { escapeField, type Logger } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import type { BrokerMetrics } from '../http/metrics.js';

export interface DroppedReport {
  /** The session's client id inside the broker: `<accountId>/<clientId>`. */
  clientId: string;
  reason: 'QUEUE_FULL' | 'QUEUE_BYTES' | 'EXPIRED';
  count: number;
}

const FLUSH_MS = 10_000;
/** Distinct (session, reason) pairs held between flushes; beyond it the window is flushed early. */
const MAX_PENDING = 10_000;

export class QueueDropReporter {
  private readonly pending = new Map<string, DroppedReport>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly d: {
    audit: AuditQueue;
    metrics: BrokerMetrics;
    log: Logger;
    source: string;
    /** The account's ancestry if this replica knows it (its settings cache), for subtree audit queries. */
    ancestryOf?: (accountId: string) => readonly string[] | undefined;
    flushMs?: number;
  }) {
    this.timer = setInterval(() => this.flush(), d.flushMs ?? FLUSH_MS);
    this.timer.unref();
  }

  report(r: DroppedReport): void {
    this.d.metrics.queueDropped.inc({ reason: r.reason }, r.count);
    const key = `${r.reason}\u0000${r.clientId}`;
    const p = this.pending.get(key);
    if (p) p.count += r.count;
    else this.pending.set(key, { ...r });
    if (this.pending.size >= MAX_PENDING) this.flush();
  }

  flush(): void {
    for (const r of this.pending.values()) {
      const slash = r.clientId.indexOf('/');
      const accountId = slash > 0 ? r.clientId.slice(0, slash) : undefined;
      const clientId = escapeField(slash > 0 ? r.clientId.slice(slash + 1) : r.clientId) ?? '';
      const accountPath = accountId ? auditAccountPath(accountId, this.d.ancestryOf?.(accountId)) : undefined;
      this.d.audit.push({
        id: randomUUID(),
        type: AuditTypes.SessionMessagesDropped,
        time: new Date().toISOString(),
        account: accountId ?? null,
        ...(accountPath ? { accountPath } : {}),
        actor: { kind: 'system', id: this.d.source },
        device: { clientId },
        reason: r.reason as ConnectReason,
        detail: { count: r.count },
        source: this.d.source,
      });
      this.d.log.warn({ clientId, account: accountId, reason: r.reason, count: r.count }, 'messages for a persistent session dropped');
    }
    this.pending.clear();
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
