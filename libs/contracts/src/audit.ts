// The audit event contract for downstream consumers (docs/asyncapi.yaml describes the stream).
// Published on `twoway.v1.audit.<type>`; `id` is the JetStream message id, so a redelivery or a
// retried publish is never stored twice. Never carries a password, token secret or private key.
import { Type, type Static } from '@sinclair/typebox';
import { Actor, Id, IsoTime } from './model.js';

export const AuditTypes = {
  ConnectAccepted: 'connect.accepted',
  ConnectAcceptedFallback: 'connect.accepted_fallback',
  ConnectRejected: 'connect.rejected',
  SessionEnded: 'session.ended',
  CertAdded: 'cert.added',
  CertStatusChanged: 'cert.status_changed',
  CertDeleted: 'cert.deleted',
  /** A CA's CRL was stored (`detail.source`: upload or fetch) with its thisUpdate, nextUpdate, number and entries. */
  CrlUpdated: 'cert.crl_updated',
  /** A CA's stored CRL was removed. */
  CrlRemoved: 'cert.crl_removed',
  /** Fetching a CA's CRL from its distribution point failed, or the CRL fetched was refused; `detail.error` says why. */
  CrlFetchFailed: 'cert.crl_fetch_failed',
  /** A CA's CRL distribution point URL was set, changed or cleared (before/after). */
  CrlDistributionPointChanged: 'cert.crl_distribution_point_changed',
  /** A serial number was revoked under a CA (a revoked-serial entry); `detail.serial`. */
  SerialRevoked: 'cert.serial_revoked',
  /** A revoked-serial entry was removed (the serial restored); `detail.serial`. */
  SerialRestored: 'cert.serial_restored',
  SettingsChanged: 'settings.changed',
  CredentialAdded: 'credential.added',
  CredentialChanged: 'credential.changed',
  CredentialRemoved: 'credential.removed',
  AccountCreated: 'account.created',
  TokenCreated: 'token.created',
  TokenRevoked: 'token.revoked',
  /** A broker deleted spilled audit events unpublished (its spill bound was reached); `detail.dropped` counts them. */
  AuditEventsDropped: 'audit.events_dropped',
  /** Messages for a persistent session were dropped (queue bound or expiry); `reason` says which, `detail.count` how many. */
  SessionMessagesDropped: 'session.messages_dropped',
} as const;
export type AuditType = (typeof AuditTypes)[keyof typeof AuditTypes];

export const DeviceIdentity = Type.Object({
  clientId: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  certificateFingerprint: Type.Optional(Type.String()),
  certificateSubject: Type.Optional(Type.String()),
});
export type DeviceIdentity = Static<typeof DeviceIdentity>;

/** Most entries an `accountPath` may hold (the schema's `maxItems`). */
export const ACCOUNT_PATH_MAX_ITEMS = 32;

/**
 * The `accountPath` a publisher puts on an event about `account`, from the ancestry it knows (self
 * first, root last), or undefined when it knows none. A path that does not start with the account, or
 * is longer than the schema allows, is left out rather than sent: the audit store would refuse the
 * whole event (dead letter), whereas without a path it is still stored and found through its account.
 * Accounts never move (account-settings has no re-parenting), so an ancestry read earlier stays true.
 */
export function auditAccountPath(account: string | null | undefined, ancestrySelfFirst: readonly string[] | undefined): string[] | undefined {
  if (!account || !ancestrySelfFirst || ancestrySelfFirst[0] !== account || ancestrySelfFirst.length > ACCOUNT_PATH_MAX_ITEMS) return undefined;
  return [...ancestrySelfFirst];
}

export const AuditEvent = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  type: Type.String(),
  time: IsoTime,
  /** The account the event concerns; absent only for a connect that could not be attributed. */
  account: Type.Union([Id, Type.Null()]),
  /**
   * Ancestry of `account`, the account itself first and the root last (as `twoway.v1.account.ancestry.get`
   * answers). Every twoway publisher sets it on events that have an account (see `auditAccountPath`); it
   * is absent when the account is null, deeper than `ACCOUNT_PATH_MAX_ITEMS`, or the publisher predates
   * it. Lets the audit store answer subtree queries without asking account-settings at ingest time.
   */
  accountPath: Type.Optional(Type.Array(Id, { maxItems: ACCOUNT_PATH_MAX_ITEMS })),
  actor: Actor,
  outcome: Type.Optional(Type.Union([Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('ended')])),
  reason: Type.Optional(Type.String()),
  device: Type.Optional(DeviceIdentity),
  /** Certificate concerned by a change (or on the session's chain). */
  certificateId: Type.Optional(Type.String()),
  sourceAddress: Type.Optional(Type.String()),
  traceId: Type.Optional(Type.String()),
  /** Which broker replica, or which service, wrote it. */
  source: Type.String(),
  before: Type.Optional(Type.Unknown()),
  after: Type.Optional(Type.Unknown()),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditQuery = Type.Object({
  type: Type.Optional(Type.String()),
  outcome: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  clientId: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  certificate: Type.Optional(Type.String({ description: 'certificate id or fingerprint' })),
  from: Type.Optional(IsoTime),
  to: Type.Optional(IsoTime),
  cursor: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')])),
  /** Include the events of sub-accounts (those whose event carries `accountPath`). */
  subtree: Type.Optional(Type.Boolean()),
});
export type AuditQuery = Static<typeof AuditQuery>;
export const AuditPage = Type.Object({ items: Type.Array(AuditEvent), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type AuditPage = Static<typeof AuditPage>;
