// The change events and audit events this service emits about its own changes. Pure builders: ids,
// time and the account's ancestry (`path`, self first: the audit event's `accountPath`, for subtree
// queries) are passed in. Never a password, password hash or token secret in any of them.
import {
  AuditTypes,
  ChangeSubjects,
  auditAccountPath,
  auditSubject,
  type Account,
  type AccountCreatedEvent,
  type Actor,
  type AuditEvent,
  type Credential,
  type CredentialChangedEvent,
  type CredentialField,
  type Principal,
  type Settings,
  type SettingsChangedEvent,
  type TokenInfo,
  type TokenRevokedEvent,
} from '@twoway/contracts';

export const AUDIT_SOURCE = 'account-settings';

/** One event to enqueue in the outbox. */
export interface Outgoing {
  subject: string;
  event: { id: string };
}

export interface EventContext {
  newId: () => string;
  now: Date;
  actor: Actor;
}

export const actorOf = (p: Principal): Actor => ({ kind: 'token', id: p.tokenId, name: p.name, accountId: p.accountId });
export const SYSTEM_ACTOR: Actor = { kind: 'system', id: AUDIT_SOURCE };

/** Ancestry of the account an event is about, self first, root last (`AccountStore.ancestry`). */
export type AccountPath = readonly string[];

function audit(c: EventContext, type: string, account: string, path: AccountPath, rest: Partial<AuditEvent>): Outgoing {
  const accountPath = auditAccountPath(account, path);
  const event: AuditEvent = { id: c.newId(), type, time: c.now.toISOString(), account, ...(accountPath ? { accountPath } : {}), actor: c.actor, source: AUDIT_SOURCE, ...rest };
  return { subject: auditSubject(type), event };
}

export function accountCreated(c: EventContext, account: Account, path: AccountPath): Outgoing[] {
  const change: AccountCreatedEvent = { id: c.newId(), type: 'account.created', time: c.now.toISOString(), account: account.id, actor: c.actor, data: { after: account } };
  return [{ subject: ChangeSubjects.AccountCreated, event: change }, audit(c, AuditTypes.AccountCreated, account.id, path, { after: account })];
}

export function settingsChanged(c: EventContext, accountId: string, path: AccountPath, before: Settings, after: Settings): Outgoing[] {
  const change: SettingsChangedEvent = { id: c.newId(), type: 'settings.changed', time: c.now.toISOString(), account: accountId, actor: c.actor, data: { before, after } };
  return [{ subject: ChangeSubjects.SettingsChanged, event: change }, audit(c, AuditTypes.SettingsChanged, accountId, path, { before, after })];
}

/**
 * What an update touched, for the change event: brokers end a credential's sessions for a new password,
 * a disable or an expiry (they keep no password to check again), but only re-decide them when nothing
 * but `requireCertificate` changed. A password sent counts as changed, even the same one.
 */
export function changedFields(before: Credential, after: Credential, passwordSent: boolean): CredentialField[] {
  const out: CredentialField[] = passwordSent ? ['password'] : [];
  if (before.enabled !== after.enabled) out.push('enabled');
  if (before.expiresAt !== after.expiresAt) out.push('expiresAt');
  if (before.requireCertificate !== after.requireCertificate) out.push('requireCertificate');
  return out;
}

export function credentialChanged(
  c: EventContext,
  path: AccountPath,
  change: 'added' | 'updated' | 'removed',
  before: Credential | undefined,
  after: Credential | undefined,
  detail?: Record<string, unknown>,
  changed?: CredentialField[],
): Outgoing[] {
  const cred = (after ?? before)!;
  const ev: CredentialChangedEvent = {
    id: c.newId(),
    type: 'credential.changed',
    time: c.now.toISOString(),
    account: cred.accountId,
    actor: c.actor,
    data: {
      credentialId: cred.id,
      username: cred.username,
      change,
      ...(after ? { requireCertificate: after.requireCertificate } : {}),
      ...(changed ? { changed } : {}),
    },
  };
  const type = change === 'added' ? AuditTypes.CredentialAdded : change === 'removed' ? AuditTypes.CredentialRemoved : AuditTypes.CredentialChanged;
  return [
    { subject: ChangeSubjects.CredentialChanged, event: ev },
    audit(c, type, cred.accountId, path, {
      device: { username: cred.username },
      ...(before ? { before } : {}),
      ...(after ? { after } : {}),
      ...(detail ? { detail } : {}),
    }),
  ];
}

export function tokenCreated(c: EventContext, path: AccountPath, token: TokenInfo): Outgoing[] {
  // No change subject: a new token changes nothing a broker or cache holds.
  return [audit(c, AuditTypes.TokenCreated, token.accountId, path, { after: token })];
}

export function tokenRevoked(c: EventContext, path: AccountPath, before: TokenInfo, after: TokenInfo): Outgoing[] {
  const ev: TokenRevokedEvent = { id: c.newId(), type: 'token.revoked', time: c.now.toISOString(), account: after.accountId, actor: c.actor, data: { tokenId: after.id } };
  return [{ subject: ChangeSubjects.TokenRevoked, event: ev }, audit(c, AuditTypes.TokenRevoked, after.accountId, path, { before, after })];
}
