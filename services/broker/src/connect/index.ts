// How a CONNECT is decided, in order (aedes `authenticate`):
//   1. gather-facts  — CONNECT fields, the chain captured at the handshake, credential owner, settings,
//                      chain standing against the account's trust set (warm caches, NATS on a miss)
//   2. decide        — pure: the connection rule of docs/design.md §1, a reason for every outcome
//   3. audit         — an audit event queued for JetStream (not awaited), a log line, metrics
//   4. expiry        — accepted: the device's leaf and intermediates near their end, counted and audited
//                      at most once per certificate per interval (expiry.ts)
// One `twoway.broker.connect` span covers the steps and roots the connect's trace: each NATS
// request of step 1 is its child (libs/nats), and its trace id is the audit event's and the log's.
// An accepted connect becomes a live session (sessions/), which revocation/ may end later.
import { randomUUID } from 'node:crypto';
import type { AuthenticateError, Client } from 'aedes';
import { ConnectReasons, type ConnectReason } from '@twoway/contracts';
import { AttributeNames as A, SpanKind, SpanNames, SpanStatusCode, escapeField, startSpan, traceIdentity, type Logger, type Span } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { OwnerQuery, Owners } from '../nats/owners.js';
import type { Session, SessionRegistry } from '../sessions/session-registry.js';
import type { ConnState } from '../tls/conn-state.js';
import { dropForbiddenWill, mountWill } from '../topics.js';
import type { OnTopicDenied } from '../topic-rules/denials.js';
import { DEFAULT_TOPIC_DENIALS_AUDITED_PER_MINUTE, sessionTopics } from '../topic-rules/denials.js';
import { connectEvent, deviceCertExpiringEvent } from './audit.js';
import { expiringOnPath, type ExpiryAuditLimiter } from './expiry.js';
import { EMPTY_PERSISTENT_ID } from './pre-connect.js';
import { decide, type Decision } from './decide.js';
import { gatherFacts, type ConnectAttempt, type CredentialSource, type GatheredFacts } from './gather-facts.js';
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
  /** TWOWAY_EXPIRY_WARNING_DAYS, and what was audited when (step 4). */
  expiry: { windowDays: number; limiter: ExpiryAuditLimiter };
  now?: () => number;
  /** TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE: each session's budget of audited topic denials. */
  topicDenialsAuditedPerMinute?: number;
  /** Reports a will the topic rules refuse (topic-rules/denials.ts). */
  topicDenied?: OnTopicDenied;
}

const generations = (o: Owners) => `${o.caches.trust.generation.current}/${o.caches.settings.generation.current}/${o.caches.credentials.generation.current}`;

/**
 * Steps 1 and 2, repeated once if a change event invalidated a cache while the facts were gathered.
 * A dry run (connect/dry-run.ts) runs exactly this, with a credential source that counts no failure.
 */
export async function gatherAndDecide(a: ConnectAttempt, d: Pick<ConnectDeps, 'owners' | 'validate' | 'staleAfterMs'> & { credentials?: CredentialSource }): Promise<{ g: GatheredFacts; decision: Decision }> {
  for (let i = 0; ; i++) {
    const before = generations(d.owners);
    const g = await gatherFacts(a, d.owners, d.validate, d.credentials);
    const decision = decide(g.facts, { nowMs: a.nowMs, staleAfterMs: d.staleAfterMs });
    if (decision.outcome === 'rejected' || generations(d.owners) === before || i >= 1) return { g, decision };
  }
}

/** The connect span's outcome (set only while it records: with tracing off nothing is computed). */
function recordDecision(span: Span, q: OwnerQuery, decision: Decision, g: GatheredFacts): void {
  if (!span.isRecording()) return;
  span.setAttributes({
    [A.ConnectOutcome]: decision.outcome,
    [A.ConnectReason]: decision.reason,
    [A.ConnectCertificate]: g.facts.chain.kind,
    [A.CacheHits]: q.cacheHits,
    [A.CacheMisses]: q.cacheMisses,
    ...(g.accountId ? { [A.AccountId]: g.accountId } : {}),
    ...(decision.outcome === 'accepted' ? { [A.ConnectMode]: decision.mode } : {}),
  });
  // A refusal is an answer, not a failure; an owner that did not answer is.
  if (g.error) span.setStatus({ code: SpanStatusCode.ERROR, message: (g.error as Error).name ?? 'Error' });
}

function recordOutcome(span: Span, outcome: 'rejected', reason: ConnectReason, error?: unknown): void {
  if (!span.isRecording()) return;
  span.setAttributes({ [A.ConnectOutcome]: outcome, [A.ConnectReason]: reason });
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name ?? 'Error' });
}

export function createAuthenticate(d: ConnectDeps) {
  const now = d.now ?? Date.now;
  return function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean | null) => void): void {
    const st = d.connState(client);
    // One trace per CONNECT, carried to the owners in the NATS `traceparent` header (W3C Trace Context).
    // With tracing off the span is the API's no-op and the ids are random, as audit and logs need one.
    const span = startSpan(SpanNames.Connect, { kind: SpanKind.SERVER, root: true });
    if (span.isRecording()) span.setAttributes({ [A.MqttClientId]: escapeField(client.id, 128) ?? '', [A.ConnectTransport]: st?.transport ?? 'tcp' });
    const { traceId, traceparent } = traceIdentity(span);
    const query: OwnerQuery = { traceparent, cacheHits: 0, cacheMisses: 0 };
    const attempt: ConnectAttempt = {
      clientId: client.id,
      username: username || undefined,
      password,
      peerChain: st?.peerChain ?? [],
      sourceAddress: st?.sourceAddress,
      transport: st?.transport ?? 'tcp',
      nowMs: now(),
      natsDownSinceMs: d.natsDownSinceMs(),
      query,
    };
    st?.connectArrived(attempt, traceId);
    st?.answerWith((returnCode) => done(Object.assign(new Error(ConnectReasons.CONNECT_TIMEOUT), { returnCode }) as AuthenticateError, false));
    if ((client as unknown as Record<symbol, boolean>)[EMPTY_PERSISTENT_ID] && st?.claimDecision() !== false) {
      // [MQTT-3.1.3-8] nothing to look up: the CONNECT itself is not allowed.
      const reason = ConnectReasons.CLIENT_ID_REJECTED;
      recordOutcome(span, 'rejected', reason);
      d.audit.push(connectEvent({ outcome: 'rejected', type: 'connect.rejected', reason, returnCode: 2 }, { clientId: '', username: attempt.username, leaf: undefined, sourceAddress: attempt.sourceAddress, accountId: undefined }, { kind: 'none' }, attempt.transport, { source: d.source, nowMs: attempt.nowMs, traceId }));
      d.metrics.decisions.inc({ outcome: 'rejected', reason });
      d.log.info({ reason, traceId, sourceAddress: attempt.sourceAddress }, 'connect rejected');
      span.end();
      done(Object.assign(new Error(reason), { returnCode: 2 }) as AuthenticateError, false);
      return;
    }
    // Set once this path has claimed the CONNECT's answer: if anything after that throws, the catch
    // below must still answer it (the deadline no longer will), or the device waits for nothing.
    let claimed = false;
    let answered = false;
    gatherAndDecide(attempt, d)
      .then(({ g, decision }) => {
        claimed = true;
        if (st && !st.claimDecision()) {
          recordOutcome(span, 'rejected', ConnectReasons.CONNECT_TIMEOUT); // the deadline fired first and already answered
          return;
        }
        recordDecision(span, query, decision, g);
        const rec = { clientId: attempt.clientId, username: attempt.username, leaf: g.leaf, sourceAddress: attempt.sourceAddress, accountId: g.accountId, ancestry: g.ancestry };
        d.audit.push(connectEvent(decision, rec, g.facts.chain, attempt.transport, { source: d.source, nowMs: attempt.nowMs, traceId }, { blockedBy: g.facts.fallbackBlockedBy, lastPath: g.recordedPath }));
        d.metrics.decisions.inc({ outcome: decision.outcome, reason: decision.reason });
        if (decision.outcome === 'accepted' && g.facts.chain.kind === 'trusted' && g.facts.chain.staleCrl) d.metrics.staleCrlAccepted.inc();
        const logFields = { clientId: rec.clientId, account: rec.accountId, reason: decision.reason, traceId, sourceAddress: rec.sourceAddress };
        if (g.error) d.log.warn({ ...logFields, err: g.error }, 'connect undecidable: an owner did not answer');
        if (decision.outcome === 'rejected') {
          d.log.info(logFields, 'connect rejected');
          const err = Object.assign(new Error(decision.reason), { returnCode: decision.returnCode }) as AuthenticateError;
          answered = true;
          done(err, false);
          return;
        }
        const cred = g.facts.credential;
        if (cred.status !== 'ok' || !g.accountId) throw new Error('accepted without a credential: broken invariant');
        if (client.closed) return;
        const session: Session = {
          id: randomUUID(),
          client,
          clientId: attempt.clientId,
          accountId: g.accountId,
          ancestry: g.ancestry ?? [g.accountId],
          credentialId: cred.credentialId,
          username: cred.username,
          sourceAddress: attempt.sourceAddress,
          transport: attempt.transport,
          // A fallback session carries the path its credential last verified with: suspending that
          // path's anchor then ends it too, and the reconnect is refused (decide.ts).
          fingerprints: g.facts.chain.kind === 'trusted' ? g.facts.chain.path : decision.mode === 'fallback' ? (g.recordedPath ?? []) : [],
          caIdentities: g.facts.chain.kind === 'trusted' ? g.facts.chain.caIdentities : [],
          presented: g.presented,
          malformed: g.facts.chain.kind === 'untrusted' && g.facts.chain.reason === ConnectReasons.CERT_MALFORMED,
          leaf: g.leaf,
          mode: decision.mode,
          facts: g.facts,
          ending: false,
          // Compiled here, once: each PUBLISH and SUBSCRIBE then costs a walk over a few rules. The CN
          // comes only from a chain that verified (docs/design.md §4).
          topics: sessionTopics(
            g.facts.settings?.topicRules,
            { username: cred.username, cn: g.facts.chain.kind === 'trusted' ? g.facts.chain.leaf.commonName : undefined, clientId: attempt.clientId },
            d.topicDenialsAuditedPerMinute ?? DEFAULT_TOPIC_DENIALS_AUDITED_PER_MINUTE,
          ),
        };
        d.sessions.add(session);
        client.conn.once('close', () => d.sessions.remove(client));
        if (g.facts.chain.kind === 'trusted') {
          const expiring = expiringOnPath(g.facts.chain.path, g.presented, attempt.nowMs, d.expiry.windowDays);
          if (expiring.length > 0) {
            d.metrics.expiringCertConnects.inc();
            const due = d.expiry.limiter.due(expiring, attempt.nowMs);
            if (due.length > 0) d.audit.push(deviceCertExpiringEvent(rec, due, d.expiry.windowDays, attempt.transport, { source: d.source, nowMs: attempt.nowMs, traceId }));
          }
        }
        if (g.facts.chain.kind === 'trusted' && decision.mode === 'mutual') {
          d.owners.recordChain(cred.credentialId, g.facts.chain.path, attempt.nowMs).catch((err: unknown) => d.log.warn({ err, clientId: attempt.clientId, account: g.accountId }, 'could not record the chain a credential connected with; sent again on its next connect'));
        }
        // Client ids are per account: aedes registers (and takes over, [MQTT-3.1.4-2]) by `client.id`
        // after this step, so a device of one account can never end another account's session by
        // reusing its client id. Audit and logs keep the id the device sent.
        (client as { id: string }).id = `${g.accountId}/${attempt.clientId}`;
        dropForbiddenWill(client, session, d.topicDenied);
        mountWill(client, g.accountId);
        d.log.info({ ...logFields, mode: decision.mode }, 'connect accepted');
        answered = true;
        done(null, true);
      })
      .catch((err: unknown) => {
        d.log.error({ err, clientId: attempt.clientId, traceId }, 'connect decision failed');
        if (answered || (!claimed && st && !st.claimDecision())) return;
        const reason: ConnectReason = ConnectReasons.UNDECIDABLE;
        recordOutcome(span, 'rejected', reason, err);
        done(Object.assign(new Error(reason), { returnCode: 5 }) as AuthenticateError, false);
      })
      .finally(() => span.end());
  };
}
