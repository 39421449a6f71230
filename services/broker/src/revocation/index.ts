// How a change reaches live sessions, in order (one CHANGES-stream message at a time):
//   1. decode-change     — decode the event into a Change (cert status/delete/add, a CA's revocation
//                          data, settings, credential)
//   2. invalidate        — bring the warm caches up to date first (in place, or dropped), so
//                          reconnects are decided afresh
//   3. kick              — end every live session the change no longer allows, audited as session.ended
//   4. apply-topic-rules — the account's topic rules, compiled again for each of its sessions; a
//                          session holding a subscription they now forbid loses it and is ended
//   5. refill            — fetch the dropped trust sets again in the background (and the new
//                          revoked-serial list a CA's change left sets waiting for), so the next
//                          connects (the kicked devices come straight back) are decided on a warm set
// and, after a NATS outage, resync: check every trust set against cert-registry's digest (fetching again
// those that differ), flush the other caches and re-decide every live session (and its topic rules).
// A session that cannot be decided again (no owner answers within the staleness bound) is ended: fail
// closed.
import { AttributeNames as A, SpanKind, SpanNames, SpanStatusCode, extractHeaders, runInSpan, startSpan, type HeaderCarrier } from '@twoway/telemetry';
import type { Caches } from '../nats/owners.js';
import { applyTopicRules, restrictSession } from './apply-topic-rules.js';
import { invalidate } from './invalidate.js';
import { kick, redecideOrEnd, sessionEndReason, type KickDeps, type RedecideOutcome } from './kick.js';
import { refill } from './refill.js';

/** Sessions re-decided at once during a resync. */
const RESYNC_CONCURRENCY = 64;
import { toChange, type Change } from './decode-change.js';

export interface RevocationDeps extends KickDeps {
  caches: Caches;
}

/**
 * Returns the change and how many live sessions it ended on this replica. A `twoway.broker.revocation`
 * span (CONSUMER) joins the trace of the write that published the event, so one trace shows the PATCH,
 * its publish and what every replica did with it.
 */
export async function applyChange(
  subject: string, data: Uint8Array, d: RevocationDeps, headers?: HeaderCarrier, o: { skip?(c: Change): boolean } = {},
): Promise<{ change: Change; ended: number; skipped?: true }> {
  const change = toChange(subject, data);
  // Already applied from its other copy (nats/change-lane.ts): nothing to do, no span.
  if (o.skip?.(change)) return { change, ended: 0, skipped: true };
  const parent = extractHeaders(headers);
  const span = startSpan(SpanNames.Revocation, { kind: SpanKind.CONSUMER, parent });
  try {
    return await runInSpan(span, parent, async () => {
      const dropped = invalidate(change, d.caches);
      const ended = (await kick(change, d)) + applyTopicRules(change, d);
      refill(dropped, d);
      if (span.isRecording()) span.setAttributes({ [A.ChangeType]: change.type, [A.SessionsEnded]: ended, ...('account' in change ? { [A.AccountId]: change.account } : {}) });
      return { change, ended };
    });
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.name ?? 'Error' });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * After NATS comes back: nothing cached may be trusted as it is (a suspension may have happened
 * meanwhile), so check the trust sets against cert-registry, flush the other caches and decide every
 * live session again on those answers. A session whose owners do
 * not answer is retried within the staleness bound, then ended as SESSION_UNDECIDABLE (fail closed);
 * the caller stays not-ready until this returns.
 */
export async function resync(d: RevocationDeps): Promise<{ checked: number; ended: number; undecidable: number; trustSetsKept: number; trustSetsRefetched: number }> {
  // Trust sets are kept when cert-registry's digest says nothing changed (a 100,000-registration set
  // takes a minute to fetch again); settings and credentials are small and read afresh.
  d.owners.markTrustUnverified();
  // Connects answered from a set meanwhile (within the staleness bound, nats/owners.ts) are sessions by
  // the time the check ends, and decided again below with the others; one still gathering when its set
  // is dropped gathers again (connect/index.ts: the trust generation moved).
  const trust = await d.owners.verifyTrust();
  d.caches.settings.clear();
  d.caches.credentials.clear();
  const sessions = d.sessions.all().filter((s) => !s.ending);
  // A few at a time: the owners' answers are shared per account (single flight), and sessions waiting
  // out an owner's retries must not hold back the others.
  const outcomes: RedecideOutcome[] = [];
  let next = 0;
  const worker = async () => {
    while (next < sessions.length) {
      const i = next++;
      const s = sessions[i]!;
      outcomes[i] = await redecideOrEnd(s, d, { endReason: sessionEndReason, detail: { resync: true } });
      // Its settings were read afresh: topic rules changed while NATS was away apply now.
      if (outcomes[i] === 'kept' && restrictSession(s, s.facts.settings?.topicRules, d, { resync: true })) outcomes[i] = 'ended';
    }
  };
  await Promise.all(Array.from({ length: Math.min(RESYNC_CONCURRENCY, sessions.length) }, worker));
  return {
    trustSetsKept: trust.kept,
    trustSetsRefetched: trust.refetched,
    checked: sessions.length,
    ended: outcomes.filter((o) => o !== 'kept').length,
    undecidable: outcomes.filter((o) => o === 'undecidable').length,
  };
}
