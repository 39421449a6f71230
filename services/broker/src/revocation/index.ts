// How a change reaches live sessions, in order (one CHANGES-stream message at a time):
//   1. on-status-changed — decode the event into a Change (cert status/delete/add, settings, credential)
//   2. invalidate        — drop the stale warm-cache entries first, so reconnects are decided afresh
//   3. kick              — end every live session the change no longer allows, audited as session.ended
//   4. refill            — fetch the dropped trust sets again in the background, so the next connects
//                          (the kicked devices come straight back) are decided on a warm set
// and, after a NATS outage, resync: flush every cache and re-decide every live session.
import { AttributeNames as A, SpanKind, SpanNames, SpanStatusCode, extractHeaders, runInSpan, startSpan, type HeaderCarrier } from '@twoway/telemetry';
import type { Caches } from '../nats/owners.js';
import { invalidate } from './invalidate.js';
import { endSession, kick, redecide, sessionEndReason, type KickDeps } from './kick.js';
import { toChange, type Change } from './on-status-changed.js';

export interface RevocationDeps extends KickDeps {
  caches: Caches;
}

/**
 * Returns the change and how many live sessions it ended on this replica. A `twoway.broker.revocation`
 * span (CONSUMER) joins the trace of the write that published the event, so one trace shows the PATCH,
 * its publish and what every replica did with it.
 */
export async function applyChange(subject: string, data: Uint8Array, d: RevocationDeps, headers?: HeaderCarrier): Promise<{ change: Change; ended: number }> {
  const parent = extractHeaders(headers);
  const span = startSpan(SpanNames.Revocation, { kind: SpanKind.CONSUMER, parent });
  try {
    return await runInSpan(span, parent, async () => {
      const change = toChange(subject, data);
      const dropped = invalidate(change, d.caches);
      const ended = await kick(change, d);
      d.owners.refreshTrust(dropped, (err) => d.log.debug({ err }, 'trust set refill after a change failed; the next connect fetches it'));
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
 * After NATS comes back: nothing cached may be trusted (a suspension may have happened meanwhile), so
 * flush all caches and decide every live session again on fresh answers. Throws if an owner does not
 * answer; the caller retries and stays not-ready meanwhile.
 */
export async function resync(d: RevocationDeps): Promise<{ checked: number; ended: number }> {
  d.caches.trust.clear();
  d.caches.settings.clear();
  d.caches.credentials.clear();
  let ended = 0;
  const sessions = d.sessions.all();
  for (const s of sessions) {
    if (s.ending) continue;
    const r = await redecide(s, d);
    if (!r.ok) {
      endSession(s, sessionEndReason(r.reason), { decision: r.reason, resync: true }, d);
      ended += 1;
    }
  }
  return { checked: sessions.length, ended };
}
