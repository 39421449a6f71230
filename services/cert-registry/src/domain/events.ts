// The facts a certificate change produces: a change event for the brokers (TWOWAY_CHANGES) and an
// audit event (TWOWAY_AUDIT). Pure: ids, time and the account's ancestry are passed in. The audit
// event never carries the PEM (only cert.added's change event does, for the brokers' trust sets), and
// neither carries a CRL: its summary only.
import {
  AuditTypes,
  daysLeft,
  ChangeSubjects,
  auditAccountPath,
  auditSubject,
  type Actor,
  type AuditEvent,
  type AuditType,
  type Certificate,
  type CertAddedEvent,
  type CertDeletedEvent,
  type CertRevocationChangedEvent,
  type CertStatus,
  type CertStatusChangedEvent,
  type RevocationChange,
  type TrustRevocation,
} from '@twoway/contracts';

export const AUDIT_SOURCE = 'cert-registry';

export interface EventContext {
  actor: Actor;
  now: Date;
  newId: () => string;
  /**
   * Ancestry of the account written to, self first, as the request's authorisation resolved it: the
   * audit event's `accountPath`, so a parent account's subtree audit query finds the change. Accounts
   * never move, so it is still true when the event is stored.
   */
  accountPath?: readonly string[];
}

/** The audit event's `accountPath`, when the context's ancestry is that of the certificate's account. */
const pathOf = (cert: Certificate, ctx: EventContext) => {
  const accountPath = auditAccountPath(cert.accountId, ctx.accountPath);
  return accountPath ? { accountPath } : {};
};

/** An event and the subject it is published on. */
export interface Outgoing<E extends { id: string }> {
  subject: string;
  event: E;
}

export interface ChangeFacts<C extends { id: string }> {
  change: Outgoing<C>;
  audit: Outgoing<AuditEvent>;
}

const auditDetail = (c: Certificate) => ({ name: c.name, fingerprint: c.fingerprint, subject: c.subject, kind: c.kind });

/** The audit event of a change to `cert`: who, when, which registration, and its before/after. */
function certAudit(type: AuditType, cert: Certificate, ctx: EventContext, change: Pick<AuditEvent, 'before' | 'after'>, detail: Record<string, unknown> = {}): Outgoing<AuditEvent> {
  return {
    subject: auditSubject(type),
    event: {
      id: ctx.newId(),
      type,
      time: ctx.now.toISOString(),
      account: cert.accountId,
      ...pathOf(cert, ctx),
      actor: ctx.actor,
      certificateId: cert.id,
      source: AUDIT_SOURCE,
      ...change,
      detail: { ...auditDetail(cert), ...detail },
    },
  };
}

export function certAdded(cert: Certificate, ctx: EventContext, pem?: string): ChangeFacts<CertAddedEvent> {
  const change = { id: ctx.newId(), type: 'cert.added' as const, time: ctx.now.toISOString(), account: cert.accountId, actor: ctx.actor, data: { after: cert, ...(pem ? { pem } : {}) } };
  return { change: { subject: ChangeSubjects.CertAdded, event: change }, audit: certAudit(AuditTypes.CertAdded, cert, ctx, { after: cert.status }) };
}

export function certStatusChanged(cert: Certificate, before: CertStatus, ctx: EventContext): ChangeFacts<CertStatusChangedEvent> {
  const change = {
    id: ctx.newId(),
    type: 'cert.status_changed' as const,
    time: ctx.now.toISOString(),
    account: cert.accountId,
    actor: ctx.actor,
    data: { certificateId: cert.id, fingerprint: cert.fingerprint, before, after: cert.status },
  };
  return { change: { subject: ChangeSubjects.CertStatusChanged, event: change }, audit: certAudit(AuditTypes.CertStatusChanged, cert, ctx, { before, after: cert.status }) };
}

/**
 * A new name: an audit event only. Trust does not depend on names, so the brokers are not told, and
 * `detail` carries the new name with the facts that identify the registration.
 */
export function certRenamed(cert: Certificate, before: string, ctx: EventContext): Outgoing<AuditEvent> {
  return certAudit(AuditTypes.CertRenamed, cert, ctx, { before: { name: before }, after: { name: cert.name } });
}

/** `cert` is the registration as it was just before deletion. */
export function certDeleted(cert: Certificate, ctx: EventContext): ChangeFacts<CertDeletedEvent> {
  const change = {
    id: ctx.newId(),
    type: 'cert.deleted' as const,
    time: ctx.now.toISOString(),
    account: cert.accountId,
    actor: ctx.actor,
    data: { certificateId: cert.id, fingerprint: cert.fingerprint, before: cert },
  };
  return { change: { subject: ChangeSubjects.CertDeleted, event: change }, audit: certAudit(AuditTypes.CertDeleted, cert, ctx, { before: cert.status }) };
}

// ---- revocation of a CA's certificates: its CRL and revoked-serial entries ----------------------

/** A CRL as the audit trail shows it (never the CRL itself). */
export interface CrlSummary {
  issuer: string;
  thisUpdate: string;
  nextUpdate: string | null;
  number: string | null;
  entries: number;
  fingerprint: string;
}

/** `rev`: the CA's revocation data after the change, as trust sets carry it (brokers update theirs in place). */
function revocationChange(ca: Certificate, rev: TrustRevocation, change: RevocationChange, ctx: EventContext, time: string): Outgoing<CertRevocationChangedEvent> {
  return {
    subject: ChangeSubjects.CertRevocationChanged,
    event: { id: ctx.newId(), type: 'cert.revocation_changed', time, account: ca.accountId, actor: ctx.actor, data: { certificateId: ca.id, fingerprint: ca.fingerprint, revision: rev.revision, change, revocation: rev } },
  };
}

/** An audit event about a CA's revocation data (`certificateId` is the CA's registration). */
function revocationAudit(type: AuditType, ca: Certificate, ctx: EventContext, time: string, fields: Pick<AuditEvent, 'before' | 'after'> & { detail: Record<string, unknown> }): Outgoing<AuditEvent> {
  return {
    subject: auditSubject(type),
    event: {
      id: ctx.newId(),
      type,
      time,
      account: ca.accountId,
      ...pathOf(ca, ctx),
      actor: ctx.actor,
      certificateId: ca.id,
      source: AUDIT_SOURCE,
      ...fields,
      detail: { ...auditDetail(ca), ...fields.detail },
    },
  };
}

/** `source`: uploaded over REST or fetched from the distribution point `url`. `added`/`removed`: serials compared with the CRL before. */
export function crlUpdated(
  ca: Certificate,
  rev: TrustRevocation,
  before: CrlSummary | null,
  after: CrlSummary,
  change: { source: 'upload' | 'fetch'; url?: string; added: number; removed: number },
  ctx: EventContext,
): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, rev, 'crl_updated', ctx, time),
    audit: revocationAudit(AuditTypes.CrlUpdated, ca, ctx, time, { before, after, detail: { crl: after, ...change } }),
  };
}

export function crlRemoved(ca: Certificate, rev: TrustRevocation, before: CrlSummary, ctx: EventContext): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, rev, 'crl_removed', ctx, time),
    audit: revocationAudit(AuditTypes.CrlRemoved, ca, ctx, time, { before, detail: { crl: before } }),
  };
}

export function serialRevoked(ca: Certificate, rev: TrustRevocation, serial: string, reason: string | null, ctx: EventContext): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, rev, 'serial_revoked', ctx, time),
    audit: revocationAudit(AuditTypes.SerialRevoked, ca, ctx, time, { after: 'REVOKED', detail: { serial, reason } }),
  };
}

export function serialRestored(ca: Certificate, rev: TrustRevocation, serial: string, ctx: EventContext): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, rev, 'serial_restored', ctx, time),
    audit: revocationAudit(AuditTypes.SerialRestored, ca, ctx, time, { before: 'REVOKED', detail: { serial } }),
  };
}

/** Audit only: brokers do not act on where a CRL comes from, only on the CRL. */
export function distributionPointChanged(ca: Certificate, before: string | null, after: string | null, ctx: EventContext): Outgoing<AuditEvent> {
  return revocationAudit(AuditTypes.CrlDistributionPointChanged, ca, ctx, ctx.now.toISOString(), { before, after, detail: { url: after } });
}

/** A fetch that delivered no usable CRL: `code` is the error code (CRL_FETCH_FAILED, or the refusal's), `error` its message. */
export function crlFetchFailed(ca: Certificate, f: { url: string; code: string; error: string; failures: number; nextFetchAt: Date }, ctx: EventContext): Outgoing<AuditEvent> {
  return revocationAudit(AuditTypes.CrlFetchFailed, ca, ctx, ctx.now.toISOString(), {
    detail: { url: f.url, code: f.code, error: f.error, failures: f.failures, nextFetchAt: f.nextFetchAt.toISOString() },
  });
}

/** The actor of what the registry does by itself (the expiry scan). */
export const REGISTRY_ACTOR: Actor = { kind: 'system', id: AUDIT_SOURCE };

/**
 * `cert.expiring` (its notAfter came within `windowDays`) or `cert.expired` (it passed): an audit event
 * only, with the registration's facts, its notAfter and status, the days left and the window.
 */
export function certExpiryNotice(cert: Certificate, notice: 'expiring' | 'expired', windowDays: number, ctx: Omit<EventContext, 'actor'>): Outgoing<AuditEvent> {
  const type = notice === 'expiring' ? AuditTypes.CertExpiring : AuditTypes.CertExpired;
  const detail = { status: cert.status, notAfter: cert.notAfter, daysLeft: daysLeft(Date.parse(cert.notAfter), ctx.now.getTime()), windowDays };
  return certAudit(type, cert, { ...ctx, actor: REGISTRY_ACTOR }, {}, detail);
}

/**
 * A dry run was made (`dry_run.decided`): by which token, for which device and what it answered. Not a
 * connection attempt: no `outcome` or `reason` of its own (consumers of `connect.*` never see it), the
 * answer in `detail`. Never the password: only whether one was given and checked.
 */
export function dryRunDecided(
  accountId: string,
  ctx: EventContext,
  device: { clientId?: string; username?: string; leaf?: { fingerprint: string; subject: string } },
  answer: { decision: string; reason: string; account: string | null; passwordGiven: boolean; passwordChecked: boolean; certificates: number; replica: string },
): Outgoing<AuditEvent> {
  const accountPath = auditAccountPath(accountId, ctx.accountPath);
  return {
    subject: auditSubject(AuditTypes.DryRunDecided),
    event: {
      id: ctx.newId(),
      type: AuditTypes.DryRunDecided,
      time: ctx.now.toISOString(),
      account: accountId,
      ...(accountPath ? { accountPath } : {}),
      actor: ctx.actor,
      device: {
        ...(device.clientId !== undefined ? { clientId: device.clientId } : {}),
        ...(device.username !== undefined ? { username: device.username } : {}),
        ...(device.leaf ? { certificateFingerprint: device.leaf.fingerprint, certificateSubject: device.leaf.subject } : {}),
      },
      source: AUDIT_SOURCE,
      detail: { ...answer },
    },
  };
}
