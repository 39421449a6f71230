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
  /** A registration's name changed; `before` and `after` are the names. Trust is unchanged. */
  CertRenamed: 'cert.renamed',
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
  /**
   * A registered certificate came within the expiry warning window (cert-registry's scan, once per
   * registration); `detail.notAfter`, `detail.daysLeft` and `detail.windowDays` say when and by which window.
   */
  CertExpiring: 'cert.expiring',
  /** A registered certificate passed its notAfter (cert-registry's scan, once per registration). */
  CertExpired: 'cert.expired',
  /**
   * A device connected with a verified chain whose leaf or intermediate expires within the window (the
   * broker, at most once per certificate per interval); `detail.certificates` lists them.
   */
  DeviceCertExpiring: 'device.cert_expiring',
  /**
   * An operator's token asked for a dry run of a device's connect (`POST …/dry-run`): who asked, for which
   * device, and `detail.decision`, `detail.reason`, `detail.passwordChecked`. Never the password. Not a
   * connection attempt, so it carries no `outcome` or `reason` of its own.
   */
  DryRunDecided: 'dry_run.decided',
  /** A live session's PUBLISH or SUBSCRIBE was refused by the account's topic rules; at most TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE a session. */
  SessionTopicDenied: 'session.topic_denied',
} as const;
export type AuditType = (typeof AuditTypes)[keyof typeof AuditTypes];

/**
 * How a device reached the broker (`detail.transport` of connect events): MQTT over TLS, MQTT over
 * secure WebSocket, or plain TCP (a development listener). The connect decision is the same for all.
 */
export const MqttTransports = { Tls: 'tls', Wss: 'wss', Tcp: 'tcp' } as const;
export type MqttTransport = (typeof MqttTransports)[keyof typeof MqttTransports];

export const DeviceIdentity = Type.Object({
  clientId: Type.Optional(Type.String({ description: 'MQTT client id, as the device sent it.' })),
  username: Type.Optional(Type.String({ description: 'MQTT username, as the device sent it.' })),
  certificateFingerprint: Type.Optional(Type.String({ description: 'SHA-256 of the presented certificate, lowercase hex.' })),
  certificateSubject: Type.Optional(Type.String({ description: 'Subject DN of the presented certificate (RFC 4514).' })),
}, { description: 'The device as it presented itself: client-supplied strings, escape them before display.' });
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
  id: Type.String({ minLength: 1, maxLength: 64, description: 'Unique event id: deduplicate by it.' }),
  type: Type.String({ description: '`<area>.<fact>`, e.g. `connect.rejected`, `cert.status_changed`.' }),
  time: Type.String({ format: 'date-time', description: 'When it happened, as seen by its source.' }),
  /** The account the event concerns; absent only for a connect that could not be attributed. */
  account: Type.Union([Id, Type.Null()]),
  /**
   * Ancestry of `account`, the account itself first and the root last (as `twoway.v1.account.ancestry.get`
   * answers). Every twoway publisher sets it on events that have an account (see `auditAccountPath`); it
   * is absent when the account is null, deeper than `ACCOUNT_PATH_MAX_ITEMS`, or the publisher predates
   * it. Lets the audit store answer subtree queries without asking account-settings at ingest time.
   */
  accountPath: Type.Optional(Type.Array(Id, { maxItems: ACCOUNT_PATH_MAX_ITEMS, description: 'Ancestry of `account`, itself first, the root last.' })),
  actor: Actor,
  outcome: Type.Optional(Type.Union([Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('ended')], { description: 'Of connect and session events.' })),
  reason: Type.Optional(Type.String({ description: 'Stable reason code, e.g. `CHAIN_UNTRUSTED`, `CERT_REVOKED`, `MUTUAL_TLS`.' })),
  device: Type.Optional(DeviceIdentity),
  /** Certificate concerned by a change (or on the session's chain). */
  certificateId: Type.Optional(Type.String({ description: "The registered certificate a change concerns, or on the session's chain." })),
  sourceAddress: Type.Optional(Type.String({ description: "The device's address, `ip:port`." })),
  traceId: Type.Optional(Type.String({ description: 'W3C trace id, to find the operation in traces and logs.' })),
  /** Which broker replica, or which service, wrote it. */
  source: Type.String({ description: 'The broker replica or service that wrote it.' }),
  before: Type.Optional(Type.Unknown({ description: 'State before a change.' })),
  after: Type.Optional(Type.Unknown({ description: 'State after a change.' })),
  detail: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Further facts of its type, e.g. `dropped`, `count`, `passwordChanged`.' })),
});
export type AuditEvent = Static<typeof AuditEvent>;

/**
 * Who an event is about, as the console's and the CLI's audit lists show it: the device for a connect
 * or a session (its actor); for a change, whoever made it (the acting token), with the device it
 * concerns, e.g. "ops-admin (for sensor-17)" for a credential added.
 */
export function auditWho(e: AuditEvent): string {
  const actor = e.actor.name ?? `${e.actor.kind} ${e.actor.id}`;
  const device = e.device?.clientId ?? e.device?.username ?? e.device?.certificateSubject;
  if (e.actor.kind === 'device' || !device) return device ?? actor;
  return `${actor} (for ${device})`;
}

export const AuditQuery = Type.Object({
  type: Type.Optional(Type.String({ description: 'Event types, comma-separated; `cert.*` matches a prefix. E.g. `connect.rejected,cert.*`.', examples: ['connect.rejected,cert.*'] })),
  outcome: Type.Optional(Type.String({ description: '`accepted`, `rejected` or `ended` (connect and session events).', examples: ['rejected'] })),
  reason: Type.Optional(Type.String({ description: 'Reason code, e.g. `CERT_REVOKED` (docs/reason-codes.md).', examples: ['ANCHOR_SUSPENDED'] })),
  clientId: Type.Optional(Type.String({ description: "The device's MQTT client id, exactly.", examples: ['sensor-17'] })),
  username: Type.Optional(Type.String({ description: "The device's MQTT username, exactly.", examples: ['sensor-17'] })),
  certificate: Type.Optional(Type.String({ description: 'Certificate id or SHA-256 fingerprint (hex, colons optional).', examples: ['3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10'] })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time (RFC 3339).', examples: ['2026-11-23T00:00:00Z'] })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time (RFC 3339).', examples: ['2026-11-24T00:00:00Z'] })),
  cursor: Type.Optional(Type.String({ description: 'The `nextCursor` of the previous page.', examples: ['eyJ0IjoiMjAyNi0xMS0yM1QxMDowMDowMS4wMDBaIn0'] })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100); for an export, the most events (default: all).', examples: [100] })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('csv')], { description: '`json` (a page, the default), or an export of every match: `ndjson` (one event a line) or `csv`.', examples: ['csv'] })),
  subtree: Type.Optional(Type.Boolean({ description: "Also the events of sub-accounts; for the provider's root account also connects no account is behind.", examples: [true] })),
});
export type AuditQuery = Static<typeof AuditQuery>;
export const AuditPage = Type.Object({ items: Type.Array(AuditEvent, { description: 'Newest first.' }), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for older events; null on the last page.' }) });
export type AuditPage = Static<typeof AuditPage>;
