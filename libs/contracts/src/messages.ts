// Request/reply payloads and change events on NATS. Validated where a message enters a service
// (`decode` in libs/nats). A reply is either the payload or `{ error: { code, message } }`.
import { Type, type Static } from '@sinclair/typebox';
import { Actor, Account, Certificate, CertStatus, Id, IsoTime, Principal, Settings, CertKind, SESSION_COUNT_MAX_ACCOUNTS } from './model.js';

// ---- requests -------------------------------------------------------------------------------
export const TokenVerifyRequest = Type.Object({ token: Type.String({ maxLength: 512 }) });
export type TokenVerifyRequest = Static<typeof TokenVerifyRequest>;
export const TokenVerifyReply = Type.Object({ principal: Principal });
export type TokenVerifyReply = Static<typeof TokenVerifyReply>;

export const AncestryRequest = Type.Object({ accountId: Id });
export type AncestryRequest = Static<typeof AncestryRequest>;
/** `ancestry[0]` is the account itself, the last entry the root (provider) account. */
export const AncestryReply = Type.Object({ ancestry: Type.Array(Account) });
export type AncestryReply = Static<typeof AncestryReply>;

export const SettingsGetRequest = Type.Object({ accountId: Id });
export type SettingsGetRequest = Static<typeof SettingsGetRequest>;
export const SettingsGetReply = Type.Object({ accountId: Id, settings: Settings, ancestry: Type.Array(Id) });
export type SettingsGetReply = Static<typeof SettingsGetReply>;

/**
 * Which credential to check. `key` is the MQTT username, or the certificate CN / subject DN when the
 * account looks credentials up by certificate (the key then comes from a chain that already verified).
 */
export const CredentialVerifyRequest = Type.Object({
  key: Type.String({ maxLength: 1024 }),
  password: Type.String({ maxLength: 1024 }),
  sourceAddress: Type.Optional(Type.String()),
  /**
   * The broker verified the device's chain against this credential's account (trusted, bound to it
   * when the account binds certificates): only the failures of this username from this address can
   * lock it out, not those of other addresses (docs/limits.md, "Credential lockout").
   */
  chainVerified: Type.Optional(Type.Boolean()),
});
export type CredentialVerifyRequest = Static<typeof CredentialVerifyRequest>;
export const CredentialVerifyReply = Type.Object({
  ok: Type.Boolean(),
  /** Set when not ok: BAD_CREDENTIALS, CREDENTIAL_DISABLED, CREDENTIAL_EXPIRED, RATE_LIMITED. */
  reason: Type.Optional(Type.String()),
  credentialId: Type.Optional(Id),
  accountId: Type.Optional(Id),
  username: Type.Optional(Type.String()),
  /** Present when ok: the account's settings, saving a round trip. */
  settings: Type.Optional(Settings),
  /** Present when ok: the credential is accepted only with a verified, clean chain (absent: false). */
  requireCertificate: Type.Optional(Type.Boolean()),
  /**
   * The account's ancestry (self first) whenever `accountId` is set, ok or not: the broker puts it on
   * the connect audit event (`accountPath`), so a refused attempt is found by subtree queries too.
   */
  ancestry: Type.Optional(Type.Array(Id)),
});
export type CredentialVerifyReply = Static<typeof CredentialVerifyReply>;

/** Fingerprints (SHA-256 hex) of a verified path, leaf first, the anchor last. */
export const ChainPath = Type.Array(Type.String({ maxLength: 128 }), { minItems: 1, maxItems: 16 });
export const CredentialChainRecordRequest = Type.Object({ credentialId: Id, path: ChainPath, seenAt: IsoTime });
export type CredentialChainRecordRequest = Static<typeof CredentialChainRecordRequest>;
/** `recorded`: false when the credential already had this path (or no longer exists). */
export const CredentialChainRecordReply = Type.Object({ recorded: Type.Boolean() });
export type CredentialChainRecordReply = Static<typeof CredentialChainRecordReply>;
export const CredentialChainGetRequest = Type.Object({ credentialId: Id });
export type CredentialChainGetRequest = Static<typeof CredentialChainGetRequest>;
export const CredentialChainGetReply = Type.Object({ path: Type.Union([ChainPath, Type.Null()]) });
export type CredentialChainGetReply = Static<typeof CredentialChainGetReply>;

/**
 * A trust set travels in pages (a NATS message is at most `max_payload`, 1 MB by default: about 1,250
 * EC registrations). `after`: the `next` of the previous page; absent for the first.
 */
export const TrustSetRequest = Type.Object({
  accountIds: Type.Array(Id, { minItems: 1, maxItems: 64 }),
  after: Type.Optional(Type.String({ maxLength: 200 })),
});
export type TrustSetRequest = Static<typeof TrustSetRequest>;
/**
 * The digest of a trust set's content (libs/pki trust-digest.ts): registrations, accounts, fingerprints,
 * statuses and revocation revisions. A broker back from a NATS outage compares it with the sets it
 * holds and fetches again only those that differ.
 */
export const TrustSetDigestRequest = Type.Object({ accountIds: TrustSetRequest.properties.accountIds });
export type TrustSetDigestRequest = Static<typeof TrustSetDigestRequest>;
export const TrustSetDigestReply = Type.Object({ count: Type.Integer({ minimum: 0 }), digest: Type.String({ pattern: '^[0-9a-f]{64}$' }) });
export type TrustSetDigestReply = Static<typeof TrustSetDigestReply>;
/**
 * Revocation data of a registered CA, as a trust set carries it: how many serials to fetch
 * (`RevokedSerialsGet`, in pages) and the stored CRL's dates. Absent while the CA's revocation data never
 * changed; once it has, kept with `serials` 0 and no `crl` when nothing is left, so its revision still
 * orders the `cert.revocation_changed` events a broker receives after fetching the set.
 */
export const TrustRevocation = Type.Object({
  /** Grows with every change of this CA's revocation data: a broker keeps the serials it fetched per revision. */
  revision: Type.Integer({ minimum: 1 }),
  /** Revoked serials of the CA: its CRL's entries plus its revoked-serial entries. */
  serials: Type.Integer({ minimum: 0 }),
  crl: Type.Optional(Type.Object({ thisUpdate: IsoTime, nextUpdate: Type.Union([IsoTime, Type.Null()]) })),
});
export type TrustRevocation = Static<typeof TrustRevocation>;
/** A registration as the broker needs it: enough to validate a chain and check every status. */
export const TrustEntry = Type.Object({
  id: Id,
  accountId: Id,
  fingerprint: Type.String(),
  status: CertStatus,
  kind: CertKind,
  pem: Type.String(),
  /** The registration's last change (the time of its last change event): orders events against a fetch. */
  updatedAt: Type.Optional(IsoTime),
  revocation: Type.Optional(TrustRevocation),
});
export type TrustEntry = Static<typeof TrustEntry>;
/** `next`: there are more registrations; ask again with `after: next`. Absent on the last page. */
export const TrustSetReply = Type.Object({ entries: Type.Array(TrustEntry), next: Type.Optional(Type.String()) });
export type TrustSetReply = Static<typeof TrustSetReply>;

/**
 * `twoway.v1.sessions.count`, answered by every broker replica (no queue group): its live sessions whose
 * verified path holds `fingerprint` and whose account is `accountId` or below it, exactly those a
 * status change of that registration ends (services/broker revocation/kick.ts).
 */
export const SessionsCountRequest = Type.Object({ fingerprint: Type.String({ minLength: 1, maxLength: 128 }), accountId: Id });
export type SessionsCountRequest = Static<typeof SessionsCountRequest>;
export const SessionsCountReply = Type.Object({
  replica: Type.String(),
  sessions: Type.Integer({ minimum: 0 }),
  accounts: Type.Array(Type.Object({ accountId: Id, sessions: Type.Integer({ minimum: 0 }) }), { maxItems: SESSION_COUNT_MAX_ACCOUNTS }),
  accountsTruncated: Type.Boolean(),
  /**
   * Of `sessions`, those whose credential does not require a verified certificate in an account with
   * plain TLS on: their devices could reconnect on their password alone. Absent from older replicas.
   */
  couldFallBack: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type SessionsCountReply = Static<typeof SessionsCountReply>;

/**
 * The revoked serials of one CA in pages (a CRL may list 100,000s: each reply stays within NATS
 * `max_payload`). `after`: the `next` of the previous page. Every page names the revision it was read
 * at; a caller that sees the revision change between pages starts again.
 */
export const RevokedSerialsRequest = Type.Object({ certificateId: Id, after: Type.Optional(Type.String({ maxLength: 200 })) });
export type RevokedSerialsRequest = Static<typeof RevokedSerialsRequest>;
export const RevokedSerialsReply = Type.Object({
  revision: Type.Integer({ minimum: 0 }),
  /** Serials (normalised hex) listed on the CA's CRL, in this page. */
  crl: Type.Array(Type.String()),
  /** Serials with a revoked-serial entry, in this page. */
  manual: Type.Array(Type.String()),
  next: Type.Optional(Type.String()),
});
export type RevokedSerialsReply = Static<typeof RevokedSerialsReply>;

// ---- change events --------------------------------------------------------------------------
const changeEvent = <T extends ReturnType<typeof Type.Object>>(type: string, data: T) =>
  Type.Object({
    id: Type.String(),
    type: Type.Literal(type),
    time: IsoTime,
    account: Id,
    actor: Actor,
    data,
  });

export const CertAddedEvent = changeEvent(
  'cert.added',
  // `pem` lets a broker add the registration to the trust sets it holds instead of fetching them again.
  Type.Object({ after: Certificate, pem: Type.Optional(Type.String({ description: 'The registered certificate, PEM' })) }),
);
export type CertAddedEvent = Static<typeof CertAddedEvent>;
export const CertStatusChangedEvent = changeEvent(
  'cert.status_changed',
  Type.Object({ certificateId: Id, fingerprint: Type.String(), before: CertStatus, after: CertStatus }),
);
export type CertStatusChangedEvent = Static<typeof CertStatusChangedEvent>;
export const CertDeletedEvent = changeEvent(
  'cert.deleted',
  Type.Object({ certificateId: Id, fingerprint: Type.String(), before: Certificate }),
);
export type CertDeletedEvent = Static<typeof CertDeletedEvent>;
export const RevocationChange = Type.Union([Type.Literal('crl_updated'), Type.Literal('crl_removed'), Type.Literal('serial_revoked'), Type.Literal('serial_restored')]);
export type RevocationChange = Static<typeof RevocationChange>;
/**
 * A CA's revocation data changed; `revision` is its new revision (TrustRevocation). `revocation`: the data
 * as a trust set carries it after the change (`serials` 0 and no `crl` when none is left), so a broker
 * updates the sets it holds in place and reads only this CA's serials; without it (an older publisher)
 * the sets are fetched again.
 */
export const CertRevocationChangedEvent = changeEvent(
  'cert.revocation_changed',
  Type.Object({ certificateId: Id, fingerprint: Type.String(), revision: Type.Integer({ minimum: 1 }), change: RevocationChange, revocation: Type.Optional(TrustRevocation) }),
);
export type CertRevocationChangedEvent = Static<typeof CertRevocationChangedEvent>;
export const SettingsChangedEvent = changeEvent('settings.changed', Type.Object({ before: Settings, after: Settings }));
export type SettingsChangedEvent = Static<typeof SettingsChangedEvent>;
/** The parts of a credential a PATCH can change. */
export const CredentialField = Type.Union([Type.Literal('password'), Type.Literal('enabled'), Type.Literal('expiresAt'), Type.Literal('requireCertificate')]);
export type CredentialField = Static<typeof CredentialField>;
export const CredentialChangedEvent = changeEvent(
  'credential.changed',
  Type.Object({
    credentialId: Id,
    username: Type.String(),
    change: Type.Union([Type.Literal('added'), Type.Literal('updated'), Type.Literal('removed')]),
    /** The credential's `requireCertificate` after the change (absent when removed, and from older publishers). */
    requireCertificate: Type.Optional(Type.Boolean()),
    /**
     * For `updated`: what the change touched (a password sent counts, even the same one). Absent from
     * older publishers: a broker then treats it as touching everything and ends the credential's sessions.
     */
    changed: Type.Optional(Type.Array(CredentialField, { maxItems: 8 })),
  }),
);
export type CredentialChangedEvent = Static<typeof CredentialChangedEvent>;
export const AccountCreatedEvent = changeEvent('account.created', Type.Object({ after: Account }));
export type AccountCreatedEvent = Static<typeof AccountCreatedEvent>;
export const TokenRevokedEvent = changeEvent('token.revoked', Type.Object({ tokenId: Id }));
export type TokenRevokedEvent = Static<typeof TokenRevokedEvent>;
