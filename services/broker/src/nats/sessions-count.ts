// Answers `twoway.v1.sessions.count` for this replica: how many of its live sessions a status change of
// one registration would end, in which accounts, and how many of those devices could come back on their
// password alone. Every replica answers (no queue group); the caller (cert-registry) sums the replies,
// so an operator sees the blast radius before confirming.
import { RequestSubjects, SESSION_COUNT_MAX_ACCOUNTS, SessionsCountRequest, type SessionsCountReply } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import { passwordAloneAdmits } from '../connect/decide.js';
import { registrationIdentity } from '../revocation/kick.js';
import type { Session, SessionRegistry } from '../sessions/session-registry.js';
import type { Owners } from './owners.js';

/** A counted session: its account, and whether its device could reconnect without its certificate. */
export interface CountedSession {
  accountId: string;
  couldFallBack?: boolean;
}

/**
 * Could this session's device reconnect on its password alone once the change ends it? Its credential
 * does not require a certificate and its account (settings as last decided) has plain TLS on. Only the
 * chain its credential last connected with could still refuse it (docs/broker.md), which is why the
 * count names these devices: that rule alone does not hold a shared credential or a device that
 * connects once with another chain.
 */
export function couldFallBack(s: Pick<Session, 'facts'>): boolean {
  const { credential, settings } = s.facts;
  return credential.status === 'ok' && settings !== undefined && passwordAloneAdmits(settings, credential);
}

/** Sessions per account, most first (then by id, so equal counts list the same way on every replica), cut at `max` accounts. */
export function countByAccount(sessions: readonly CountedSession[], replica: string, max = SESSION_COUNT_MAX_ACCOUNTS): SessionsCountReply {
  const per = new Map<string, number>();
  for (const s of sessions) per.set(s.accountId, (per.get(s.accountId) ?? 0) + 1);
  const accounts = [...per].map(([accountId, n]) => ({ accountId, sessions: n })).sort((a, b) => b.sessions - a.sessions || a.accountId.localeCompare(b.accountId));
  return {
    replica,
    sessions: sessions.length,
    accounts: accounts.slice(0, max),
    accountsTruncated: accounts.length > max,
    couldFallBack: sessions.filter((s) => s.couldFallBack).length,
  };
}

export function serveSessionsCount(bus: Bus, sessions: SessionRegistry, owners: Owners, replica: string): void {
  bus.serve(
    RequestSubjects.SessionsCount,
    SessionsCountRequest,
    // The same selection as a suspension or revocation in revocation/kick.ts (sessions through another
    // copy of the CA included), so the count is what the change would end.
    async (q) => {
      const fingerprint = q.fingerprint.replace(/:/g, '').toLowerCase();
      const ca = await registrationIdentity(fingerprint, q.accountId, { owners, sessions });
      return countByAccount(sessions.concernedBy(fingerprint, q.accountId, ca).map((s) => ({ accountId: s.accountId, couldFallBack: couldFallBack(s) })), replica);
    },
    { queue: false },
  );
}
