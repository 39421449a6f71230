// Answers `twoway.v1.sessions.count` for this replica: how many of its live sessions a status change of
// one registration would end, and in which accounts. Every replica answers (no queue group); the
// caller (cert-registry) sums the replies, so an operator sees the blast radius before confirming.
import { RequestSubjects, SESSION_COUNT_MAX_ACCOUNTS, SessionsCountRequest, type SessionsCountReply } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import type { SessionRegistry } from '../sessions/session-registry.js';

/** Sessions per account, most first (then by id, so equal counts list the same way on every replica), cut at `max` accounts. */
export function countByAccount(sessions: readonly { accountId: string }[], replica: string, max = SESSION_COUNT_MAX_ACCOUNTS): SessionsCountReply {
  const per = new Map<string, number>();
  for (const s of sessions) per.set(s.accountId, (per.get(s.accountId) ?? 0) + 1);
  const accounts = [...per].map(([accountId, n]) => ({ accountId, sessions: n })).sort((a, b) => b.sessions - a.sessions || a.accountId.localeCompare(b.accountId));
  return { replica, sessions: sessions.length, accounts: accounts.slice(0, max), accountsTruncated: accounts.length > max };
}

export function serveSessionsCount(bus: Bus, sessions: SessionRegistry, replica: string): void {
  bus.serve(
    RequestSubjects.SessionsCount,
    SessionsCountRequest,
    // The same selection as revocation/kick.ts, so the count is what the change would end.
    (q) => countByAccount(sessions.concernedBy(q.fingerprint.replace(/:/g, '').toLowerCase(), q.accountId), replica),
    { queue: false },
  );
}
