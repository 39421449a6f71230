// Step 1 of a change: a message from the CHANGES stream, of any type (a certificate's status, deletion
// or addition, a CA's revocation data, an account's settings, a credential), becomes a small Change
// value (validated against the contracts schema where it enters the broker), or `ignored` for facts the
// broker does not act on.
import {
  CertAddedEvent, CertDeletedEvent, CertRevocationChangedEvent, CertStatusChangedEvent, ChangeSubjects, CredentialChangedEvent, SettingsChangedEvent,
  type CertKind, type CertStatus, type CredentialField, type RevocationChange, type Settings, type TrustRevocation,
} from '@twoway/contracts';
import { decode } from '@twoway/nats';

interface Base {
  eventId: string;
  account: string;
  /** The event's time (epoch ms), for the propagation metric. */
  timeMs: number;
}
export type Change =
  | (Base & { type: 'cert.status_changed'; certificateId: string; fingerprint: string; before: CertStatus; after: CertStatus })
  | (Base & { type: 'cert.deleted'; certificateId: string; fingerprint: string })
  | (Base & { type: 'cert.added'; certificateId: string; fingerprint: string; status: CertStatus; kind?: CertKind; pem?: string })
  /**
   * A CA's revocation data changed (`caFingerprint`: the CA's registration; `revision`: its new revision;
   * `revocation`: what a trust set carries of it now, when cert-registry sends it).
   */
  | (Base & { type: 'cert.revocation_changed'; certificateId: string; caFingerprint: string; revision: number; change: RevocationChange; revocation?: TrustRevocation })
  | (Base & { type: 'settings.changed'; after: Settings })
  | (Base & {
      type: 'credential.changed';
      credentialId: string;
      username: string;
      change: 'added' | 'updated' | 'removed';
      /** After the change; absent when removed or from an older publisher. */
      requireCertificate?: boolean;
      /** What an update touched; absent from an older publisher (then: everything). */
      changed?: readonly CredentialField[];
    })
  | { type: 'ignored'; subject: string };

const base = (e: { id: string; account: string; time: string }): Base => ({ eventId: e.id, account: e.account, timeMs: Date.parse(e.time) });

/** Throws MessageInvalidError for a payload that does not match its subject's schema. */
export function toChange(subject: string, data: Uint8Array): Change {
  switch (subject) {
    case ChangeSubjects.CertStatusChanged: {
      const e = decode(CertStatusChangedEvent, data, subject);
      return { ...base(e), type: 'cert.status_changed', certificateId: e.data.certificateId, fingerprint: e.data.fingerprint, before: e.data.before, after: e.data.after };
    }
    case ChangeSubjects.CertDeleted: {
      const e = decode(CertDeletedEvent, data, subject);
      return { ...base(e), type: 'cert.deleted', certificateId: e.data.certificateId, fingerprint: e.data.fingerprint };
    }
    case ChangeSubjects.CertAdded: {
      const e = decode(CertAddedEvent, data, subject);
      return { ...base(e), type: 'cert.added', certificateId: e.data.after.id, fingerprint: e.data.after.fingerprint, status: e.data.after.status, kind: e.data.after.kind, ...(e.data.pem ? { pem: e.data.pem } : {}) };
    }
    case ChangeSubjects.CertRevocationChanged: {
      const e = decode(CertRevocationChangedEvent, data, subject);
      return {
        ...base(e), type: 'cert.revocation_changed', certificateId: e.data.certificateId, caFingerprint: e.data.fingerprint, revision: e.data.revision, change: e.data.change,
        ...(e.data.revocation ? { revocation: e.data.revocation } : {}),
      };
    }
    case ChangeSubjects.SettingsChanged: {
      const e = decode(SettingsChangedEvent, data, subject);
      return { ...base(e), type: 'settings.changed', after: e.data.after };
    }
    case ChangeSubjects.CredentialChanged: {
      const e = decode(CredentialChangedEvent, data, subject);
      return {
        ...base(e),
        type: 'credential.changed',
        credentialId: e.data.credentialId,
        username: e.data.username,
        change: e.data.change,
        ...(e.data.requireCertificate !== undefined ? { requireCertificate: e.data.requireCertificate } : {}),
        ...(e.data.changed ? { changed: e.data.changed } : {}),
      };
    }
    default:
      return { type: 'ignored', subject };
  }
}

/**
 * A credential update that only set whether it requires a certificate: its live sessions can be decided
 * again without the password (the broker keeps none), so only those it no longer allows end.
 */
export function onlyRequirementChanged(c: Change): c is Extract<Change, { type: 'credential.changed' }> & { requireCertificate: boolean } {
  return c.type === 'credential.changed' && c.change === 'updated' && c.requireCertificate !== undefined && c.changed !== undefined && c.changed.every((f) => f === 'requireCertificate');
}

/** Can this revocation change refuse a certificate that was accepted (a serial newly revoked)? */
export const tightensRevocation = (c: Change): c is Extract<Change, { type: 'cert.revocation_changed' }> =>
  c.type === 'cert.revocation_changed' && (c.change === 'crl_updated' || c.change === 'serial_revoked');

/** Does this change make certificates on live paths unacceptable (end sessions at once)? */
export function endsCertificate(c: Change): c is Extract<Change, { fingerprint: string }> {
  if (c.type === 'cert.deleted') return true;
  if (c.type === 'cert.status_changed') return c.after !== 'VALID';
  if (c.type === 'cert.added') return c.status !== 'VALID';
  return false;
}
