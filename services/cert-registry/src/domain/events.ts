// The facts a certificate change produces: a change event for the brokers (TWOWAY_CHANGES) and an
// audit event (TWOWAY_AUDIT). Pure: ids, time and the account's ancestry are passed in. Neither
// carries the PEM.
import {
  AuditTypes,
  ChangeSubjects,
  auditAccountPath,
  auditSubject,
  type Actor,
  type AuditEvent,
  type AuditType,
  type Certificate,
  type CertAddedEvent,
  type CertDeletedEvent,
  type CertStatus,
  type CertStatusChangedEvent,
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
function certAudit(type: AuditType, cert: Certificate, ctx: EventContext, change: Pick<AuditEvent, 'before' | 'after'>): Outgoing<AuditEvent> {
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
      detail: auditDetail(cert),
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
