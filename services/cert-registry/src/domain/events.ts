// The facts a certificate change produces: a change event for the brokers (TWOWAY_CHANGES) and an
// audit event (TWOWAY_AUDIT). Pure: ids, time and the account's ancestry are passed in. Neither
// carries the PEM (nor a CRL: its summary only).
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
  type CertRevocationChangedEvent,
  type CertStatus,
  type CertStatusChangedEvent,
  type RevocationChange,
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

export function certAdded(cert: Certificate, ctx: EventContext): ChangeFacts<CertAddedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: {
      subject: ChangeSubjects.CertAdded,
      event: { id: ctx.newId(), type: 'cert.added', time, account: cert.accountId, actor: ctx.actor, data: { after: cert } },
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

function revocationChange(ca: Certificate, revision: number, change: RevocationChange, ctx: EventContext, time: string): Outgoing<CertRevocationChangedEvent> {
  return {
    subject: ChangeSubjects.CertRevocationChanged,
    event: { id: ctx.newId(), type: 'cert.revocation_changed', time, account: ca.accountId, actor: ctx.actor, data: { certificateId: ca.id, fingerprint: ca.fingerprint, revision, change } },
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
  revision: number,
  before: CrlSummary | null,
  after: CrlSummary,
  change: { source: 'upload' | 'fetch'; url?: string; added: number; removed: number },
  ctx: EventContext,
): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, revision, 'crl_updated', ctx, time),
    audit: revocationAudit(AuditTypes.CrlUpdated, ca, ctx, time, { before, after, detail: { crl: after, ...change } }),
  };
}

export function crlRemoved(ca: Certificate, revision: number, before: CrlSummary, ctx: EventContext): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, revision, 'crl_removed', ctx, time),
    audit: revocationAudit(AuditTypes.CrlRemoved, ca, ctx, time, { before, detail: { crl: before } }),
  };
}

export function serialRevoked(ca: Certificate, revision: number, serial: string, reason: string | null, ctx: EventContext): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, revision, 'serial_revoked', ctx, time),
    audit: revocationAudit(AuditTypes.SerialRevoked, ca, ctx, time, { after: 'REVOKED', detail: { serial, reason } }),
  };
}

export function serialRestored(ca: Certificate, revision: number, serial: string, ctx: EventContext): ChangeFacts<CertRevocationChangedEvent> {
  const time = ctx.now.toISOString();
  return {
    change: revocationChange(ca, revision, 'serial_restored', ctx, time),
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
