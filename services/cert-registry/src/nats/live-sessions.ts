// How many live sessions a status change of a registration would end, and how many of their devices
// could come back on their password alone: asked of every broker replica at once
// (`twoway.v1.sessions.count`, scatter-gather) and summed, so the console can say it before an
// operator confirms a suspension. A replica that does not answer within the wait is not counted,
// and the answer says how many did.
import { RequestSubjects, SESSION_COUNT_MAX_ACCOUNTS, SessionsCountReply, type CertificateSessions } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';

/**
 * Replicas answer within milliseconds of each other when healthy: collect until none came for
 * `stallMs` after the last, at most `maxWaitMs` when none answers at all (no broker running).
 */
export const SESSION_COUNT_WAIT = { maxWaitMs: 1500, stallMs: 300 } as const;

export type LiveSessions = Omit<CertificateSessions, 'certificateId' | 'fingerprint'>;
export type LiveSessionsCounter = (fingerprint: string, accountId: string) => Promise<LiveSessions>;

/** The replies summed: sessions per account over every replica, most first, cut at `max` accounts. */
export function sumSessionCounts(replies: readonly SessionsCountReply[], max = SESSION_COUNT_MAX_ACCOUNTS): LiveSessions {
  const per = new Map<string, number>();
  for (const r of replies) for (const a of r.accounts) per.set(a.accountId, (per.get(a.accountId) ?? 0) + a.sessions);
  const accounts = [...per].map(([accountId, sessions]) => ({ accountId, sessions })).sort((a, b) => b.sessions - a.sessions || a.accountId.localeCompare(b.accountId));
  return {
    sessions: replies.reduce((n, r) => n + r.sessions, 0),
    accounts: accounts.slice(0, max),
    // A replica that cut its own list leaves accounts out of the sum's list too.
    accountsTruncated: accounts.length > max || replies.some((r) => r.accountsTruncated),
    replicas: replies.length,
    replicasWithSessions: replies.filter((r) => r.sessions > 0).length,
    // An older replica does not say: a sum without its sessions would understate the risk, so none.
    couldFallBack: replies.some((r) => r.sessions > 0 && r.couldFallBack === undefined) ? null : replies.reduce((n, r) => n + (r.couldFallBack ?? 0), 0),
  };
}

export function natsLiveSessions(bus: Bus, wait: { maxWaitMs: number; stallMs: number } = SESSION_COUNT_WAIT): LiveSessionsCounter {
  return async (fingerprint, accountId) => {
    const { replies } = await bus.gather(RequestSubjects.SessionsCount, { fingerprint, accountId }, SessionsCountReply, wait);
    return sumSessionCounts(replies);
  };
}
