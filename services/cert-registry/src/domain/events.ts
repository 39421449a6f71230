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

export function certAdded(cert: Certificate, ctx: EventContext, pem?: string): ChangeFacts<CertAddedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: {
      subject: ChangeSubjects.CertAdded,
      event: { id: ctx.newId(), type: 'cert.added', time, account: cert.accountId, actor: ctx.actor, data: { after: cert, ...(pem ? { pem } : {}) } },
    },
    audit: {
      subject: auditSubject(AuditTypes.CertAdded),
      event: {
        id: ctx.newId(),
        type: AuditTypes.CertAdded,
        time,
        account: cert.accountId,
        ...pathOf(cert, ctx),
        actor: ctx.actor,
        certificateId: cert.id,
        source: AUDIT_SOURCE,
        after: cert.status,
        detail: auditDetail(cert),
      },
    },
  };
}

export function certStatusChanged(cert: Certificate, before: CertStatus, ctx: EventContext): ChangeFacts<CertStatusChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: {
      subject: ChangeSubjects.CertStatusChanged,
      event: {
        id: ctx.newId(),
        type: 'cert.status_changed',
        time,
        account: cert.accountId,
        actor: ctx.actor,
        data: { certificateId: cert.id, fingerprint: cert.fingerprint, before, after: cert.status },
      },
    },
    audit: {
      subject: auditSubject(AuditTypes.CertStatusChanged),
      event: {
        id: ctx.newId(),
        type: AuditTypes.CertStatusChanged,
        time,
        account: cert.accountId,
        ...pathOf(cert, ctx),
        actor: ctx.actor,
        certificateId: cert.id,
        source: AUDIT_SOURCE,
        before,
        after: cert.status,
        detail: auditDetail(cert),
      },
    },
  };
}

/**
 * A new name: an audit event only. Trust does not depend on names, so the brokers are not told, and
 * `detail` carries the new name with the facts that identify the registration.
 */
export function certRenamed(cert: Certificate, before: string, ctx: EventContext): Outgoing<AuditEvent> {
  return {
    subject: auditSubject(AuditTypes.CertRenamed),
    event: {
      id: ctx.newId(),
      type: AuditTypes.CertRenamed,
      time: ctx.now.toISOString(),
      account: cert.accountId,
      ...pathOf(cert, ctx),
      actor: ctx.actor,
      certificateId: cert.id,
      source: AUDIT_SOURCE,
      before: { name: before },
      after: { name: cert.name },
      detail: auditDetail(cert),
    },
  };
}

/** `cert` is the registration as it was just before deletion. */
export function certDeleted(cert: Certificate, ctx: EventContext): ChangeFacts<CertDeletedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: {
      subject: ChangeSubjects.CertDeleted,
      event: {
        id: ctx.newId(),
        type: 'cert.deleted',
        time,
        account: cert.accountId,
        actor: ctx.actor,
        data: { certificateId: cert.id, fingerprint: cert.fingerprint, before: cert },
      },
    },
    audit: {
      subject: auditSubject(AuditTypes.CertDeleted),
      event: {
        id: ctx.newId(),
        type: AuditTypes.CertDeleted,
        time,
        account: cert.accountId,
        ...pathOf(cert, ctx),
        actor: ctx.actor,
        certificateId: cert.id,
        source: AUDIT_SOURCE,
        before: cert.status,
        detail: auditDetail(cert),
      },
    },
  };
}
