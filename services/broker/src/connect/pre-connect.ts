// Before aedes decides anything about a CONNECT (its `preConnect` hook): a protocol level aedes does
// not speak is answered by aedes itself with CONNACK 1 ([MQTT-3.1.2-2]) and no call to `authenticate`,
// so without this the refusal would leave no audit event and no log line. aedes 1.2 speaks MQTT 3.1
// and 3.1.1; an MQTT 5 device reads the answer as 0x84 (unsupported protocol version).
import type { Client, ConnectPacket } from 'aedes';
import { ConnectReasons } from '@twoway/contracts';
import type { Logger } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { ConnState } from '../tls/conn-state.js';
import { connectEvent } from './audit.js';

/** Marks a client whose CONNECT had a zero-length client id and clean session 0 ([MQTT-3.1.3-8]). */
export const EMPTY_PERSISTENT_ID = Symbol('twoway.emptyPersistentId');

/** The protocol levels of the CONNECT packet aedes accepts: 3 (MQTT 3.1) and 4 (MQTT 3.1.1). */
const SPOKEN = new Set([3, 4]);

export interface PreConnectDeps {
  audit: AuditQueue;
  metrics: BrokerMetrics;
  log: Logger;
  source: string;
  connState(client: Client): ConnState | undefined;
  now?: () => number;
}

export function createPreConnect(d: PreConnectDeps) {
  const now = d.now ?? Date.now;
  return function preConnect(client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
    const version = packet.protocolVersion ?? 0;
    if (!SPOKEN.has(version)) {
      const st = d.connState(client);
      const reason = ConnectReasons.PROTOCOL_UNSUPPORTED;
      const clientId = typeof packet.clientId === 'string' ? packet.clientId : '';
      const ev = connectEvent(
        { outcome: 'rejected', type: 'connect.rejected', reason, returnCode: 1 },
        { clientId, username: packet.username || undefined, leaf: undefined, sourceAddress: st?.sourceAddress, accountId: undefined },
        { kind: 'none' },
        st?.transport ?? 'tcp',
        { source: d.source, nowMs: now() },
      );
      d.audit.push({ ...ev, detail: { ...ev.detail, protocolVersion: version } });
      d.metrics.decisions.inc({ outcome: 'rejected', reason });
      d.log.info({ clientId: ev.device?.clientId, reason, protocolVersion: version, sourceAddress: st?.sourceAddress }, 'connect rejected: protocol version not supported');
    }
    // aedes answers a zero-length id by generating one, whatever the session flag: remember it, and
    // `authenticate` refuses the persistent case (it can answer CONNACK 2, this hook cannot).
    if (packet.clientId === '' && packet.clean === false) (client as unknown as Record<symbol, boolean>)[EMPTY_PERSISTENT_ID] = true;
    // aedes writes the CONNACK and closes the socket itself.
    done(null, true);
  };
}
