// How a CONNECT is decided, in order (aedes `authenticate`):
//   1. gather-facts  — CONNECT fields, the chain captured at the handshake, credential owner, settings,
//                      chain standing against the account's trust set (warm caches, NATS on a miss)
//   2. decide        — pure: the connection rule of DESIGN.md §1 and issue 4, a reason for every outcome
//   3. audit         — an audit event queued for JetStream (not awaited), a log line, metrics
// An accepted connect becomes a live session (sessions/), which revocation/ may end later.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthenticateError, Client } from 'aedes';
import { ConnectReasons, type ConnectReason } from '@twoway/contracts';
import type { Logger } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { Owners } from '../nats/owners.js';
import type { SessionRegistry } from '../sessions/session-registry.js';
import type { ConnState } from '../tls/conn-state.js';
import { connectEvent } from './audit.js';
import { decide, type Decision } from './decide.js';
import { gatherFacts, type ConnectAttempt, type GatheredFacts } from './gather-facts.js';
import type { Validate } from './evaluate-chain.js';

export interface ConnectDeps {
  owners: Owners;
  validate?: Validate;
  sessions: SessionRegistry;
  audit: AuditQueue;
  metrics: BrokerMetrics;
  log: Logger;
  source: string;
  staleAfterMs: number;
  connState(client: Client): ConnState | undefined;
  natsDownSinceMs(): number | undefined;
  now?: () => number;
}

const generations = (o: Owners) => `${o.caches.trust.generation.current}/${o.caches.settings.generation.current}/${o.caches.credentials.generation.current}`;

/** Steps 1 and 2, repeated once if a change event invalidated a cache while the facts were gathered. */
async function gatherAndDecide(a: ConnectAttempt, d: ConnectDeps): Promise<{ g: GatheredFacts; decision: Decision }> {
  for (let i = 0; ; i++) {
    const before = generations(d.owners);
    const g = await gatherFacts(a, d.owners, d.validate);
    const decision = decide(g.facts, { nowMs: a.nowMs, staleAfterMs: d.staleAfterMs });
    if (decision.outcome === 'rejected' || generations(d.owners) === before || i >= 1) return { g, decision };
  }
}

export function createAuthenticate(d: ConnectDeps) {
  const now = d.now ?? Date.now;
  return function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void {
    const st = d.connState(client);
    // One trace per CONNECT, carried to the owners in the NATS `traceparent` header (W3C Trace Context).
    const traceId = randomBytes(16).toString('hex');
    const attempt: ConnectAttempt = {
      clientId: client.id,
      username: username || undefined,
      password,
      peerChain: st?.peerChain ?? [],
      sourceAddress: st?.sourceAddress,
      transport: st?.transport ?? 'tcp',
      nowMs: now(),
      natsDownSinceMs: d.natsDownSinceMs(),
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    };
    st?.connectArrived(attempt, traceId);
    gatherAndDecide(attempt, d)
      .then(({ g, decision }) => {
        if (st && !st.claimDecision()) return; // the deadline fired first and already answered
        const rec = { clientId: attempt.clientId, username: attempt.username, leaf: g.leaf, sourceAddress: attempt.sourceAddress, accountId: g.accountId, ancestry: g.ancestry };
        d.audit.push(connectEvent(decision, rec, g.facts.chain, attempt.transport, { source: d.source, nowMs: attempt.nowMs, traceId }));
        d.metrics.decisions.inc({ outcome: decision.outcome, reason: decision.reason });
        const logFields = { clientId: rec.clientId, account: rec.accountId, reason: decision.reason, traceId, sourceAddress: rec.sourceAddress };
        if (g.error) d.log.warn({ ...logFields, err: g.error }, 'connect undecidable: an owner did not answer');
        if (decision.outcome === 'rejected') {
          d.log.info(logFields, 'connect rejected');
          const err = Object.assign(new Error(decision.reason), { returnCode: decision.returnCode }) as AuthenticateError;
          done(err, false);
          return;
        }
        const cred = g.facts.credential;
        if (cred.status !== 'ok' || !g.accountId) throw new Error('accepted without a credential: broken invariant');
        if (client.closed) return;
        d.sessions.add({
          id: randomUUID(),
          client,
          clientId: attempt.clientId,
          accountId: g.accountId,
          ancestry: g.ancestry ?? [g.accountId],
          credentialId: cred.credentialId,
          username: cred.username,
          sourceAddress: attempt.sourceAddress,
          transport: attempt.transport,
          fingerprints: g.facts.chain.kind === 'trusted' ? g.facts.chain.path : [],
          presented: g.presented,
          malformed: g.facts.chain.kind === 'untrusted' && g.facts.chain.reason === ConnectReasons.CERT_MALFORMED,
          leaf: g.leaf,
          mode: decision.mode,
          facts: g.facts,
          ending: false,
        });
        client.conn.once('close', () => d.sessions.remove(client));
        // Client ids are per account: aedes registers (and takes over, [MQTT-3.1.4-2]) by `client.id`
        // after this step, so a device of one account can never end another account's session by
        // reusing its client id. Audit and logs keep the id the device sent.
        (client as { id: string }).id = `${g.accountId}/${attempt.clientId}`;
        d.log.info({ ...logFields, mode: decision.mode }, 'connect accepted');
        done(null, true);
      })
      .catch((err: unknown) => {
        d.log.error({ err, clientId: attempt.clientId }, 'connect decision failed');
        if (st && !st.claimDecision()) return;
        const reason: ConnectReason = ConnectReasons.UNDECIDABLE;
        done(Object.assign(new Error(reason), { returnCode: 5 }) as AuthenticateError, false);
      });
  };
}
