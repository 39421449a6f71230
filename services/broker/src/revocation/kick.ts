// Step 3 of revocation: end the live sessions a change no longer allows, each with a `session.ended`
// audit event, and re-decide those whose account settings changed. A session that cannot be
// re-decided is retried within the staleness bound, then ended (fail closed).
import { ConnectReasons, type ConnectReason } from '@twoway/contracts';
import { caIdentityOf, parseSinglePem, type ParsedCert } from '@twoway/pki';
import type { Logger } from '@twoway/telemetry';
import type { AuditQueue } from '../audit/audit-queue.js';
import { sessionEndedEvent } from '../connect/audit.js';
import { decide } from '../connect/decide.js';
import { serialOf, type Validate } from '../connect/evaluate-chain.js';
import { chainFactsFor } from '../connect/gather-facts.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { Owners } from '../nats/owners.js';
import type { Session, SessionRegistry } from '../sessions/session-registry.js';
import type { AccountSettings } from '../cache/settings-cache.js';
import { endsCertificate, onlyRequirementChanged, tightensRevocation, type Change } from './decode-change.js';

export interface KickDeps {
  sessions: SessionRegistry;
  owners: Owners;
  validate?: Validate;
  audit: AuditQueue;
  metrics: BrokerMetrics;
  log: Logger;
  source: string;
  staleAfterMs: number;
  now?: () => number;
  /** How often and how long a session that cannot be re-decided is retried before it is ended (default: REDECIDE_RETRY within staleAfterMs). */
  redecideRetry?: { attempts: number; firstDelayMs: number };
  /** Aborted when the broker stops: pending retries give up (the stop ends every session anyway). */
  signal?: AbortSignal;
}

/**
 * A session whose re-decision fails (an owner unreachable, NATS away) is retried this often, the
 * delay doubling from `firstDelayMs`, all within the staleness bound; then it is ended as
 * SESSION_UNDECIDABLE. Keeping it "until the next resync" would fail open.
 */
export const REDECIDE_RETRY = { attempts: 5, firstDelayMs: 250 };

/** A change that ends at least this many sessions on a replica holds its audit events back a moment (AuditQueue.holdFor). */
const AUDIT_HOLD = { minSessions: 20, ms: 100 };

const STATUS_REASONS: ReadonlySet<string> = new Set([
  ConnectReasons.CERT_SUSPENDED, ConnectReasons.CERT_REVOKED, ConnectReasons.ANCHOR_SUSPENDED, ConnectReasons.ANCHOR_REVOKED,
  ConnectReasons.CERT_REVOKED_BY_CRL, ConnectReasons.CERT_SERIAL_REVOKED, ConnectReasons.CRL_STALE,
]);

export function endSession(s: Session, reason: ConnectReason, detail: Record<string, unknown>, d: KickDeps, eventTimeMs?: number): void {
  if (s.ending) return;
  const nowMs = destroySocket(s, d);
  s.client.close();
  recordEnd(s, reason, detail, d, nowMs, eventTimeMs);
}

/**
 * The enforcement part of ending a session: out of the registry and its socket destroyed, so the
 * device sees the connection end at once. aedes' own `close()` (its teardown: subscriptions, will,
 * client registry) runs after, and must: it destroys the socket only once it has unsubscribed the
 * client through its persistence, asynchronously. Returns the time the socket was destroyed.
 */
function destroySocket(s: Session, d: KickDeps): number {
  s.ending = true;
  d.sessions.remove(s.client);
  s.client.conn.destroy();
  return (d.now ?? Date.now)();
}

/** The bookkeeping part: metrics, the `session.ended` audit event, the log line. */
function recordEnd(s: Session, reason: ConnectReason, detail: Record<string, unknown>, d: KickDeps, nowMs: number, eventTimeMs?: number): void {
  d.metrics.sessionsEnded.inc({ reason });
  if (eventTimeMs !== undefined && Number.isFinite(eventTimeMs)) d.metrics.revocationPropagationMs.observe(Math.max(0, nowMs - eventTimeMs));
  d.audit.push(
    sessionEndedEvent(reason, { clientId: s.clientId, username: s.username, leaf: s.leaf, sourceAddress: s.sourceAddress, accountId: s.accountId, ancestry: s.ancestry }, { source: d.source, nowMs }, detail),
  );
  d.log.info({ clientId: s.clientId, account: s.accountId, reason, ...detail }, 'session ended');
}

/**
 * End many sessions for one change: every socket is destroyed first, then aedes' teardown and the
 * per-session bookkeeping (audit event, metrics, log) run. Both cost more than the destroy itself
 * (kick.bench.ts), and doing them in between would hold back the last session's end by the whole
 * batch's teardown time.
 */
function endSessions(ss: readonly Session[], reason: ConnectReason, detail: Record<string, unknown>, d: KickDeps, eventTimeMs: number): number {
  const closed: { s: Session; atMs: number }[] = [];
  for (const s of ss) {
    if (s.ending) continue;
    closed.push({ s, atMs: destroySocket(s, d) });
  }
  for (const { s } of closed) s.client.close();
  if (closed.length >= AUDIT_HOLD.minSessions) d.audit.holdFor(AUDIT_HOLD.ms);
  for (const { s, atMs } of closed) recordEnd(s, reason, detail, d, atMs, eventTimeMs);
  return closed.length;
}

/** Decide a live session again on current settings and trust (no password needed: its credential outcome is kept). */
export async function redecide(s: Session, d: KickDeps, account?: AccountSettings): Promise<{ ok: true } | { ok: false; reason: ConnectReason }> {
  const nowMs = (d.now ?? Date.now)();
  const acc = account ?? (await d.owners.settings(s.accountId));
  const chain = await chainFactsFor(s.presented, s.malformed, acc, d.owners, new Date(nowMs), d.validate);
  const decision = decide({ ...s.facts, settings: acc.settings, chain, natsDownSinceMs: undefined, undecidable: false }, { nowMs, staleAfterMs: d.staleAfterMs });
  if (decision.outcome === 'accepted') {
    s.facts = { ...s.facts, settings: acc.settings, chain };
    return { ok: true };
  }
  return { ok: false, reason: decision.reason };
}

export type RedecideOutcome = 'kept' | 'ended' | 'undecidable';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Decide a live session again; end it when the decision refuses it (`endReason` of the refusal), and
 * when no decision can be made (the owners do not answer) retry within the bound, then end it as
 * SESSION_UNDECIDABLE. `firstError`: the first attempt already failed (the caller tried once inline).
 */
export async function redecideOrEnd(
  s: Session,
  d: KickDeps,
  o: { account?: AccountSettings; endReason: (decisionReason: ConnectReason) => ConnectReason; detail: Record<string, unknown>; eventTimeMs?: number; firstError?: unknown },
): Promise<RedecideOutcome> {
  const now = d.now ?? Date.now;
  const retry = d.redecideRetry ?? REDECIDE_RETRY;
  const until = now() + d.staleAfterMs;
  let lastErr = o.firstError;
  let delay = retry.firstDelayMs;
  for (let attempt = o.firstError === undefined ? 1 : 2; ; attempt++) {
    if (o.firstError === undefined || attempt > 2) {
      if (s.ending) return 'ended';
      try {
        const r = await redecide(s, d, o.account);
        if (r.ok) return 'kept';
        endSession(s, o.endReason(r.reason), { ...o.detail, decision: r.reason }, d, o.eventTimeMs);
        return 'ended';
      } catch (err) {
        lastErr = err;
      }
    }
    if (attempt >= retry.attempts || now() + delay > until || d.signal?.aborted) break;
    d.log.warn({ err: lastErr, clientId: s.clientId, account: s.accountId, attempt, retryInMs: delay }, 'cannot re-decide a session; retrying');
    await sleep(delay, d.signal);
    delay *= 2;
  }
  // Stopping: the broker ends every session itself, with its own reason.
  if (d.signal?.aborted || s.ending) return s.ending ? 'ended' : 'kept';
  const code = (lastErr as { code?: string } | undefined)?.code ?? (lastErr as Error | undefined)?.name ?? 'UNKNOWN';
  endSession(s, ConnectReasons.SESSION_UNDECIDABLE, { ...o.detail, decision: ConnectReasons.UNDECIDABLE, error: code }, d);
  return 'undecidable';
}

/** The serials of the certificates a session's validated path holds below its anchor (those an issuer can revoke). */
function pathSerials(s: Session): string[] {
  const out: string[] = [];
  for (const fp of s.fingerprints.slice(0, -1)) {
    const cert = s.presented.find((p) => p.fingerprint === fp);
    const serial = cert && serialOf(cert);
    if (serial) out.push(serial);
  }
  return out;
}

/**
 * The CA identity (subject and key) of a registration a change names, from what this replica holds: its
 * trust sets' parsed certificates (brought up to date by the invalidation step), a live session whose path
 * holds it, else the PEM a `cert.added` event carries. Status and revocation follow the CA at connect
 * (connect/evaluate-chain.ts), so the sessions verified through another copy of it are concerned too.
 */
function heldIdentity(fingerprint: string, d: Pick<KickDeps, 'owners' | 'sessions'>, pem?: string): string | undefined {
  let cert: ParsedCert | undefined = d.owners.caches.trust.certOf(fingerprint);
  if (!cert) {
    const onPath = d.sessions.identityOnPath(fingerprint);
    if (onPath !== undefined) return onPath;
  }
  if (!cert && pem) {
    try {
      cert = parseSinglePem(pem);
    } catch {
      // Not a certificate: no copy of it can be on a path; its fingerprint still finds its sessions.
    }
  }
  return cert && caIdentityOf(cert);
}

/**
 * The same, when this replica no longer holds it (the sets and parsed certificates that had it were
 * evicted) but a session below the account holds a verified path that may go through a copy: read
 * from the account's trust set. Throws when the owners do not answer (the change is applied again).
 */
async function readIdentity(fingerprint: string, account: string, d: Pick<KickDeps, 'owners' | 'sessions'>): Promise<string | undefined> {
  if (!d.sessions.hasPathBelow(account)) return undefined;
  const { ancestry } = await d.owners.settings(account);
  const cert = (await d.owners.trustSet(ancestry)).certOf(fingerprint);
  return cert && caIdentityOf(cert);
}

/** The CA identity of the registration `fingerprint` of `account` (heldIdentity, else readIdentity). */
export async function registrationIdentity(fingerprint: string, account: string, d: Pick<KickDeps, 'owners' | 'sessions'>): Promise<string | undefined> {
  return heldIdentity(fingerprint, d) ?? (await readIdentity(fingerprint, account, d));
}

/**
 * A serial newly revoked under a CA (a CRL stored, a revoked-serial entry): the live sessions whose validated
 * path passes through that CA (its registration, or another copy of it: found by fingerprint and CA
 * identity, as for a status change), in the event's account or below, and that hold a serial the CA's new
 * list names, are decided again on the trust set rebuilt after the invalidation, and ended when refused. A
 * session holding no such serial costs a Set lookup per certificate: a CRL update under a root with 100,000
 * live devices re-decides only the revoked.
 */
async function kickRevoked(c: Extract<Change, { type: 'cert.revocation_changed' }>, d: KickDeps): Promise<number> {
  const ca = await registrationIdentity(c.caFingerprint, c.account, d);
  const affected = d.sessions.concernedBy(c.caFingerprint, c.account, ca).filter((s) => !s.ending);
  if (affected.length === 0) return 0;
  // The CA's new list comes with the rebuilt trust set (a failure here is retried by the change feed).
  await d.owners.trustSet(affected[0]!.ancestry);
  const list = d.owners.caches.trust.revokedSerials(c.certificateId, c.revision);
  // Without the list (its cache bound is 0, or it emptied) every affected session is decided again.
  const candidates = list ? affected.filter((s) => pathSerials(s).some((serial) => list.bySerial.has(serial))) : affected;
  const refused = new Map<ConnectReason, Session[]>();
  const detail = { certificateId: c.certificateId, change: c.change, eventId: c.eventId };
  for (const s of candidates) {
    try {
      const r = await redecide(s, d);
      if (!r.ok) refused.set(r.reason, [...(refused.get(r.reason) ?? []), s]);
    } catch (firstError) {
      // As for a settings change: retried in the background, ended as SESSION_UNDECIDABLE at the bound.
      redecideOrEnd(s, d, { endReason: sessionEndReason, detail, eventTimeMs: c.timeMs, firstError }).catch((err: unknown) =>
        d.log.error({ err, clientId: s.clientId, account: s.accountId }, 'session re-decision failed unexpectedly'),
      );
    }
  }
  let ended = 0;
  for (const [reason, ss] of refused) ended += endSessions(ss, sessionEndReason(reason), { ...detail, decision: reason }, d, c.timeMs);
  return ended;
}

export async function kick(c: Change, d: KickDeps): Promise<number> {
  if (c.type === 'ignored') return 0;
  if (tightensRevocation(c)) return kickRevoked(c, d);
  if (endsCertificate(c)) {
    // Only sessions of the account or its descendants: a registration is scoped to its subtree.
    const detail = { fingerprint: c.fingerprint, change: c.type, eventId: c.eventId };
    // A deleted copy of a CA leaves the standing of its other copies as it was: only its own sessions end.
    if (c.type === 'cert.deleted') return endSessions(d.sessions.concernedBy(c.fingerprint, c.account), ConnectReasons.SESSION_CERT_STATUS_CHANGED, detail, d, c.timeMs);
    // A suspended or revoked copy refuses every copy of its CA: their sessions end with its own.
    const held = heldIdentity(c.fingerprint, d, c.type === 'cert.added' ? c.pem : undefined);
    let ended = endSessions(d.sessions.concernedBy(c.fingerprint, c.account, held), ConnectReasons.SESSION_CERT_STATUS_CHANGED, detail, d, c.timeMs);
    // Not held here: its own sessions have ended above, before waiting for the owners.
    const read = held === undefined ? await readIdentity(c.fingerprint, c.account, d) : undefined;
    if (read !== undefined) ended += endSessions(d.sessions.concernedBy(c.fingerprint, c.account, read), ConnectReasons.SESSION_CERT_STATUS_CHANGED, detail, d, c.timeMs);
    return ended;
  }
  if (onlyRequirementChanged(c)) {
    // Decided again with the new requirement: a mutual-TLS session stays, a password-only one ends.
    const ss = d.sessions.ofCredential(c.credentialId);
    for (const s of ss) if (s.facts.credential.status === 'ok') s.facts = { ...s.facts, credential: { ...s.facts.credential, requireCertificate: c.requireCertificate } };
    const detail = { credentialId: c.credentialId, change: c.change, changed: c.changed, eventId: c.eventId };
    return redecideAll(ss, d, { endReason: ConnectReasons.SESSION_CREDENTIAL_CHANGED, detail, timeMs: c.timeMs });
  }
  if (c.type === 'credential.changed' && c.change !== 'added') {
    // The broker keeps no password, so it cannot re-check a changed credential: the device reconnects.
    return endSessions(d.sessions.ofCredential(c.credentialId), ConnectReasons.SESSION_CREDENTIAL_CHANGED, { credentialId: c.credentialId, change: c.change, eventId: c.eventId }, d, c.timeMs);
  }
  if (c.type === 'settings.changed') {
    const account = (s: Session): AccountSettings => ({ accountId: s.accountId, settings: c.after, ancestry: s.ancestry });
    return redecideAll(d.sessions.ofAccount(c.account), d, { account, endReason: ConnectReasons.SESSION_SETTINGS_CHANGED, detail: { eventId: c.eventId }, timeMs: c.timeMs });
  }
  return 0;
}

/** Decide sessions again after a change (settings, or a credential's requirement); end those it no longer allows. */
async function redecideAll(
  ss: readonly Session[],
  d: KickDeps,
  o: { account?: (s: Session) => AccountSettings; endReason: ConnectReason; detail: Record<string, unknown>; timeMs: number },
): Promise<number> {
  let ended = 0;
  for (const s of ss) {
    const account = o.account?.(s);
    try {
      const r = await redecide(s, d, account);
      if (!r.ok) {
        endSession(s, o.endReason, { decision: r.reason, ...o.detail }, d, o.timeMs);
        ended += 1;
      }
    } catch (firstError) {
      // Retried in the background, so the feed goes on to the next change (a revocation behind
      // this one must not wait for an owner to come back); ended as SESSION_UNDECIDABLE at the bound.
      redecideOrEnd(s, d, { ...(account ? { account } : {}), endReason: () => o.endReason, detail: o.detail, eventTimeMs: o.timeMs, firstError }).catch((err: unknown) =>
        d.log.error({ err, clientId: s.clientId, account: s.accountId }, 'session re-decision failed unexpectedly'),
      );
    }
  }
  return ended;
}

export const sessionEndReason = (decisionReason: string): ConnectReason =>
  STATUS_REASONS.has(decisionReason) ? ConnectReasons.SESSION_CERT_STATUS_CHANGED : ConnectReasons.SESSION_SETTINGS_CHANGED;
