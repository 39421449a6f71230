// A socket closed for exceeding a byte limit (tls/byte-guard.ts) is audited when a device is known:
// a live session ends with `session.ended` PACKET_TOO_LARGE; a socket whose CONNECT was seen but not
// yet decided is a `connect.rejected` PACKET_TOO_LARGE. Sockets that sent no CONNECT are only counted
// (auditing them would let a flood of them flood the audit stream too).
import type { Client } from 'aedes';
import { ConnectReasons } from '@twoway/contracts';
import type { Logger } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import { connectEvent, sessionEndedEvent } from '../connect/audit.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { ByteViolation } from '../tls/byte-guard.js';
import type { ConnState } from '../tls/conn-state.js';
import type { SessionRegistry } from './session-registry.js';

export interface ByteLimitDeps {
  sessions: SessionRegistry;
  audit: AuditQueue;
  metrics: BrokerMetrics;
  log: Logger;
  source: string;
  clientOf(st: ConnState): Client | undefined;
  now?: () => number;
}

export function onByteLimitExceeded(d: ByteLimitDeps): (st: ConnState, v: ByteViolation) => void {
  const reason = ConnectReasons.PACKET_TOO_LARGE;
  return (st, v) => {
    const nowMs = (d.now ?? Date.now)();
    const client = d.clientOf(st);
    const s = client ? d.sessions.get(client) : undefined;
    const detail = { ...v };
    if (s) {
      d.metrics.sessionsEnded.inc({ reason });
      d.audit.push(sessionEndedEvent(reason, { clientId: s.clientId, username: s.username, leaf: s.leaf, sourceAddress: s.sourceAddress, accountId: s.accountId, ancestry: s.ancestry }, { source: d.source, nowMs }, detail));
      d.log.info({ clientId: s.clientId, account: s.accountId, reason, ...detail }, 'session ended');
    } else if (st.seen) {
      d.metrics.decisions.inc({ outcome: 'rejected', reason });
      d.audit.push(
        connectEvent(
          { outcome: 'rejected', type: 'connect.rejected', reason, returnCode: 5 },
          { clientId: st.seen.clientId, username: st.seen.username, leaf: undefined, sourceAddress: st.sourceAddress, accountId: undefined },
          { kind: 'none' },
          st.transport,
          { source: d.source, nowMs, traceId: st.seen.traceId },
        ),
      );
    }
  };
}
