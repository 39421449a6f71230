// The domain values that cross a boundary (REST bodies, NATS payloads), as TypeBox schemas so
// one definition validates requests, types the code and generates the OpenAPI document.
import { CloneType, Type, type Static } from '@sinclair/typebox';
import { MAX_EXPIRY_WINDOW_DAYS } from './expiry.js';
import { TopicRuleList } from './topic-rules.js';

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
export const IsoTime = Type.String({ format: 'date-time' });
/** List filters that let a client name a thing by the start of its id (`twoway certs show 3f2a9c01`). */
export const IdPrefix = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$', description: 'Only items whose id starts with this (an exact id matches itself).', examples: ['3f2a9c01'] });

// ---- accounts -------------------------------------------------------------------------------
export const Account = Type.Object({
  id: Id,
  name: Type.String({ description: 'Unique among the accounts of the same parent.' }),
  parentId: Type.Union([Id, Type.Null()], { description: 'The account above it; null for the provider (root) account.' }),
  createdAt: IsoTime,
});
export type Account = Static<typeof Account>;
export const CreateAccountBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    parentId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type CreateAccountBody = Static<typeof CreateAccountBody>;

// ---- settings -------------------------------------------------------------------------------
export const BindCertificateTo = Type.Union([
  Type.Literal('none'),
  Type.Literal('clientId'),
  Type.Literal('username'),
  Type.Literal('both'),
]);
export const CredentialLookup = Type.Union([
  Type.Literal('username'),
  Type.Literal('certificateCn'),
  Type.Literal('certificateSubject'),
]);
/**
 * What a connect does when the CRL of a CA on the device's chain is past its nextUpdate: `accept` (the
 * CRL's entries still count; the connect's audit event says the CRL was stale) or `refuse` (CRL_STALE).
 */
export const StaleCrlPolicy = Type.Union([Type.Literal('accept'), Type.Literal('refuse')]);
export type StaleCrlPolicy = Static<typeof StaleCrlPolicy>;
/**
 * Accept by default (docs/design.md §1 "Revocation lists"): the serials a stale CRL lists stay refused, and
 * refusing every device of a CA because it missed a publication is the lockout docs/design.md §4 promises to avoid.
 */
export const DEFAULT_STALE_CRL_POLICY: StaleCrlPolicy = 'accept';
export const Settings = Type.Object({
  tls: Type.Object({ enabled: Type.Boolean({ description: 'Plain TLS (server-authenticated) with MQTT username and password.' }) }),
  mutualTls: Type.Object({
    available: Type.Boolean({ description: 'Granted by the provider; only then can the account enable mutual TLS.' }),
    enabled: Type.Boolean({ description: 'Client certificates checked against the trust anchors; with `tls` also on, a device without a trusted certificate falls back to credentials.' }),
  }),
  identity: Type.Object({
    bindCertificateTo: { ...BindCertificateTo, description: "The certificate's CN (or a SAN) must equal the MQTT client id, the username, both, or nothing." },
    credentialLookup: { ...CredentialLookup, description: "Credentials are found by the MQTT username, or by the verified certificate's CN or subject DN." },
  }),
  /** Absent in settings stored before it existed: DEFAULT_STALE_CRL_POLICY applies (`staleCrlPolicyOf`). */
  revocation: Type.Optional(
    Type.Object({
      staleCrl: {
        ...StaleCrlPolicy,
        description: "When the CRL of a CA on the device's chain is past its nextUpdate: `accept` (its entries still count; the audit event says the CRL was stale) or `refuse` (CRL_STALE).",
      },
    }),
  ),
  topicRules: Type.Optional({
    ...TopicRuleList,
    description: 'Topic permissions inside the account\'s namespace, first match wins (docs/permissions.md). Absent or empty: devices publish and subscribe anywhere in the namespace.',
  }),
});
export type Settings = Static<typeof Settings>;
export const SettingsPatch = Type.Object(
  {
    tls: Type.Optional(Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false })),
    mutualTls: Type.Optional(
      Type.Object(
        { available: Type.Optional(Type.Boolean()), enabled: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
    ),
    identity: Type.Optional(
      Type.Object(
        { bindCertificateTo: Type.Optional(BindCertificateTo), credentialLookup: Type.Optional(CredentialLookup) },
        { additionalProperties: false },
      ),
    ),
    revocation: Type.Optional(Type.Object({ staleCrl: Type.Optional(StaleCrlPolicy) }, { additionalProperties: false })),
    /** Replaces the whole list (`[]` removes every rule), so a client may send back the document it read. */
    topicRules: Type.Optional(TopicRuleList),
  },
  { additionalProperties: false },
);
export type SettingsPatch = Static<typeof SettingsPatch>;
/** Mutual TLS counts only once the provider made it available and the account enabled it. */
export const mutualTlsOn = (s: Settings): boolean => s.mutualTls.available && s.mutualTls.enabled;
export const staleCrlPolicyOf = (s: Settings): StaleCrlPolicy => s.revocation?.staleCrl ?? DEFAULT_STALE_CRL_POLICY;
/** What a new account starts with: plain TLS on, mutual TLS not yet made available by the provider. */
export const DEFAULT_SETTINGS: Settings = {
  tls: { enabled: true },
  mutualTls: { available: false, enabled: false },
  identity: { bindCertificateTo: 'none', credentialLookup: 'username' },
  revocation: { staleCrl: DEFAULT_STALE_CRL_POLICY },
};

// ---- credentials ----------------------------------------------------------------------------
export const Username = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const RequireCertificate = Type.Boolean({
  description:
    'The credential is accepted only on a connection whose client certificate chain verified and is clean: never on its password alone (no fallback to plain TLS, and refused while the account has mutual TLS off), refused `CREDENTIAL_REQUIRES_CERTIFICATE`. Default when created: on when the account has mutual TLS on.',
});
/** A credential created without saying requires a verified certificate when its account has mutual TLS on then. */
export const requireCertificateDefault = (accountSettings: Settings): boolean => mutualTlsOn(accountSettings);
export const Credential = Type.Object({
  id: Id,
  accountId: Id,
  username: Type.String(),
  enabled: Type.Boolean(),
  expiresAt: Type.Union([IsoTime, Type.Null()]),
  createdAt: IsoTime,
  /**
   * The verified chain this credential last connected with (fingerprints leaf first, anchor last), or
   * null when it never connected with one. While any certificate on it is SUSPENDED or REVOKED the
   * credential cannot fall back to plain TLS (docs/broker.md, "Suspending shuts the device out").
   */
  lastChain: Type.Optional(Type.Union([Type.Object({ path: Type.Array(Type.String()), seenAt: IsoTime }), Type.Null()])),
  requireCertificate: RequireCertificate,
});
export type Credential = Static<typeof Credential>;
export const CreateCredentialBody = Type.Object(
  {
    username: Username,
    password: Type.String({ minLength: 8, maxLength: 1024 }),
    enabled: Type.Optional(Type.Boolean()),
    expiresAt: Type.Optional(Type.Union([IsoTime, Type.Null()])),
    requireCertificate: Type.Optional({ ...RequireCertificate, description: 'Default: on when the account has mutual TLS on (available and enabled), off otherwise.' }),
  },
  { additionalProperties: false },
);
export type CreateCredentialBody = Static<typeof CreateCredentialBody>;
/** `PATCH /accounts/{id}/credentials/{credId}`: only the parts that change. */
export const PatchCredentialBody = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
    enabled: Type.Optional(Type.Boolean()),
    expiresAt: Type.Optional(Type.Union([IsoTime, Type.Null()])),
    requireCertificate: Type.Optional({ ...RequireCertificate, description: 'Turned on, the live sessions of this credential that are not on a verified certificate (fallback, plain TLS) end on every broker; its mutual-TLS sessions stay.' }),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchCredentialBody = Static<typeof PatchCredentialBody>;

// ---- certificates ---------------------------------------------------------------------------
export const CertStatus = Type.Union([Type.Literal('VALID'), Type.Literal('SUSPENDED'), Type.Literal('REVOKED')]);
export type CertStatus = Static<typeof CertStatus>;
export const CertKind = Type.Union([Type.Literal('root'), Type.Literal('intermediate'), Type.Literal('leaf')]);
export type CertKind = Static<typeof CertKind>;
export const CertUsage = Type.Literal('MUTUAL_AUTHENTICATION');
export const Certificate = Type.Object({
  id: Id,
  accountId: Id,
  name: Type.String(),
  usage: CertUsage,
  status: { ...CertStatus, description: '`VALID`, `SUSPENDED` (temporarily not trusted) or `REVOKED` (not trusted, by intent).' },
  fingerprint: Type.String({ description: 'SHA-256 of the DER, lowercase hex' }),
  subject: Type.String({ description: 'Subject DN (RFC 4514).' }),
  issuer: Type.String({ description: 'Issuer DN (RFC 4514).' }),
  serial: Type.String({ description: 'Serial number, hex.' }),
  notBefore: IsoTime,
  notAfter: IsoTime,
  kind: { ...CertKind, description: '`root` (self-signed CA), `intermediate` (CA) or `leaf` (a pinned device certificate).' },
  keyType: Type.String({ description: 'e.g. `EC P-256`, `RSA 2048`.' }),
  createdAt: IsoTime,
  updatedAt: IsoTime,
  /**
   * Where `notAfter` stands when the answer is made: every REST answer carries it; change events (facts
   * about a registration, not about a moment) do not.
   */
  expiry: Type.Optional(
    Type.Union([Type.Literal('ok'), Type.Literal('expiring'), Type.Literal('expired')], {
      description: '`expired`: past `notAfter`; `expiring`: `notAfter` is within the expiry warning window (`TWOWAY_EXPIRY_WARNING_DAYS`, 30 days by default); `ok` otherwise. Computed when answering, whatever the status.',
    }),
  ),
});
export type Certificate = Static<typeof Certificate>;
/** An operator's name for a registration: no control characters (it reaches logs and the console). */
export const CertName = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
export const CreateCertificateBody = Type.Object(
  {
    name: CertName,
    usage: CertUsage,
    certificate: Type.String({ minLength: 1, maxLength: 65536, description: 'One PEM certificate with its BEGIN and END lines (a chain only with `?split=true`). Never a private key.' }),
  },
  { additionalProperties: false },
);
export type CreateCertificateBody = Static<typeof CreateCertificateBody>;
/** `PATCH .../certificates/{certId}`: a new status, a new name, or both (in one transaction). */
export const PatchCertificateBody = Type.Object(
  { status: Type.Optional(CertStatus), name: Type.Optional(CertName) },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchCertificateBody = Static<typeof PatchCertificateBody>;
/** `?split=true` on POST .../certificates: register every certificate of a chain file as its own entry. */
export const CreateCertificateQuery = Type.Object({
  split: Type.Optional(Type.Boolean({ description: 'Register every certificate of a chain file as its own entry, all or none (without it, the body holds exactly one certificate).', examples: [true] })),
});
export type CreateCertificateQuery = Static<typeof CreateCertificateQuery>;
/** The entries a split upload created, in file order (all of them or, on any refusal, none). */
export const CertificateBatch = Type.Object({ items: Type.Array(Certificate) });
export type CertificateBatch = Static<typeof CertificateBatch>;
export const CertificateQuery = Type.Object({
  status: Type.Optional(CloneType(CertStatus, { description: 'Only certificates with this status.', examples: ['SUSPENDED'] })),
  kind: Type.Optional(CloneType(CertKind, { description: 'Only roots, intermediates or device (leaf) certificates.', examples: ['intermediate'] })),
  q: Type.Optional(Type.String({ maxLength: 256, description: 'Case-insensitive substring of the name or the subject DN.', examples: ['factory'] })),
  fingerprint: Type.Optional(Type.String({ maxLength: 128, pattern: '^[0-9A-Fa-f:]+$', description: 'SHA-256 of the DER, hex, with or without colons, any case.', examples: ['5d0c7e2a9b41f3c8d6e1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9'] })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Only certificates with exactly this name.', examples: ['Factory root'] })),
  idPrefix: Type.Optional(IdPrefix),
  expiresWithinDays: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: MAX_EXPIRY_WINDOW_DAYS,
      description: 'Only certificates whose `notAfter` is at most this many days away, those already expired included (`0`: only the expired ones).',
      examples: [30],
    }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `nextCursor` of the previous page.', examples: ['eyJ0IjoiMjAyNi0xMS0yM1QxMDowMDowMC4wMDBaIn0'] })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Page size (default 50).', examples: [50] })),
});
export type CertificateQuery = Static<typeof CertificateQuery>;
export const CertificatePage = Type.Object({ items: Type.Array(Certificate), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type CertificatePage = Static<typeof CertificatePage>;

/**
 * `GET .../certificates/{certId}/sessions`: the live MQTT sessions a suspension, revocation or deletion of
 * this registration would end right now (those whose verified path holds its fingerprint, in its account
 * or below), summed over the broker replicas that answered within the wait.
 */
export const CertificateSessions = Type.Object({
  certificateId: Id,
  fingerprint: Type.String(),
  sessions: Type.Integer({ minimum: 0 }),
  /** Sessions per account, most first; at most `SESSION_COUNT_MAX_ACCOUNTS` entries. */
  accounts: Type.Array(Type.Object({ accountId: Id, sessions: Type.Integer({ minimum: 0 }) })),
  /** More accounts have sessions than `accounts` lists (their sessions are still in `sessions`). */
  accountsTruncated: Type.Boolean(),
  /** Broker replicas that answered: a replica that did not answer in time is not counted. */
  replicas: Type.Integer({ minimum: 0 }),
  /** Replicas that answered with at least one of these sessions. */
  replicasWithSessions: Type.Integer({ minimum: 0 }),
  /**
   * Of `sessions`, those whose device could reconnect on its password alone: its credential does not
   * require a verified certificate and its account has plain TLS on (only the chain the credential last
   * connected with can still refuse it). Null when a replica that answered could not tell (an older broker).
   */
  couldFallBack: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
});
export type CertificateSessions = Static<typeof CertificateSessions>;
/** Accounts listed per count (per replica reply and in the sum). */
export const SESSION_COUNT_MAX_ACCOUNTS = 20;

// ---- connecting devices ---------------------------------------------------------------------
/**
 * `GET /api/v1/connection-info`: where devices connect and the CA they must trust to check the broker,
 * as the installation publishes them (the gateway's TWOWAY_PUBLIC_* settings), for the console's
 * "Connect a device" panel and scripts.
 */
export const ConnectionInfo = Type.Object({
  /** MQTT over TLS: `mqtts://host:port`. */
  mqtt: Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 1, maximum: 65535 }), url: Type.String() }),
  /** MQTT over secure WebSocket, when the brokers serve it: `wss://host:port/mqtt`, subprotocol `mqtt`. */
  wss: Type.Union([Type.Object({ host: Type.String(), port: Type.Integer({ minimum: 1, maximum: 65535 }), path: Type.String(), url: Type.String() }), Type.Null()]),
  /** The CA that issued the broker's certificate (PEM, certificates only), or null when none is configured. */
  serverCa: Type.Union([
    Type.Object({
      pem: Type.String(),
      /** One entry per certificate of the PEM, in file order. */
      certificates: Type.Array(Type.Object({ subject: Type.String(), fingerprint: Type.String({ description: 'SHA-256 of the DER, lowercase hex' }), notAfter: IsoTime })),
    }),
    Type.Null(),
  ]),
});
export type ConnectionInfo = Static<typeof ConnectionInfo>;
// ---- revocation of a registered CA's certificates: its CRL and revoked-serial entries -----------
/** A serial number in hex, with or without colons (`8F:0A`, `8f0a`, `0x8f0a`); leading zeros do not matter. */
export const SerialNumber = Type.String({ minLength: 1, maxLength: 100, pattern: '^(0[xX])?[0-9A-Fa-f]+(:[0-9A-Fa-f]+)*$' });
export const CrlSource = Type.Union([Type.Literal('upload'), Type.Literal('fetch')]);
export const CrlInfo = Type.Object({
  issuer: Type.String(),
  thisUpdate: IsoTime,
  nextUpdate: Type.Union([IsoTime, Type.Null()]),
  number: Type.Union([Type.String({ description: 'cRLNumber, decimal' }), Type.Null()]),
  entries: Type.Integer({ description: 'Distinct serial numbers the CRL lists' }),
  fingerprint: Type.String({ description: 'SHA-256 of the CRL DER, lowercase hex' }),
  source: CrlSource,
  updatedAt: IsoTime,
  stale: Type.Boolean({ description: 'Past its nextUpdate' }),
});
export type CrlInfo = Static<typeof CrlInfo>;
export const CrlDistributionPoint = Type.Object({
  url: Type.String(),
  lastAttemptAt: Type.Union([IsoTime, Type.Null()]),
  lastSuccessAt: Type.Union([IsoTime, Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  failures: Type.Integer({ description: 'Failed fetches since the last success' }),
  nextFetchAt: Type.Union([IsoTime, Type.Null()]),
});
export type CrlDistributionPoint = Static<typeof CrlDistributionPoint>;
/** `GET …/certificates/{certId}/crl`: the CA's stored CRL, where it is fetched from, and its revoked-serial entries. */
export const Revocation = Type.Object({
  certificateId: Id,
  crl: Type.Union([CrlInfo, Type.Null()]),
  distributionPoint: Type.Union([CrlDistributionPoint, Type.Null()]),
  revokedSerials: Type.Integer({ description: 'Revoked-serial entries of this CA (besides its CRL)' }),
});
export type Revocation = Static<typeof Revocation>;
export const UploadCrlBody = Type.Object(
  { crl: Type.String({ minLength: 1, description: 'The CRL as PEM (-----BEGIN X509 CRL-----) or as base64 of its DER' }) },
  { additionalProperties: false },
);
export type UploadCrlBody = Static<typeof UploadCrlBody>;
export const CrlDistributionPointBody = Type.Object(
  { url: Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()], { description: 'http or https URL of the CA\'s CRL; null stops fetching' }) },
  { additionalProperties: false },
);
export type CrlDistributionPointBody = Static<typeof CrlDistributionPointBody>;
/** RFC 5280 §5.3.1 reasons (removeFromCRL excepted: that one undoes a revocation). */
export const RevocationReason = Type.Union(
  ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'].map((r) => Type.Literal(r)),
);
export const RevokeSerialBody = Type.Object(
  { serial: SerialNumber, reason: Type.Optional(RevocationReason) },
  { additionalProperties: false },
);
export type RevokeSerialBody = Static<typeof RevokeSerialBody>;
export const RevokedSerial = Type.Object({
  certificateId: Id,
  /** Normalised: lowercase hex without separators or leading zeros. */
  serial: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  revokedAt: IsoTime,
  /** Name (or id) of the token that revoked it. */
  revokedBy: Type.String(),
});
export type RevokedSerial = Static<typeof RevokedSerial>;
export const RevokedSerialQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `nextCursor` of the previous page.', examples: ['eyJzIjoiNGExYjc3MGMifQ'] })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100).', examples: [100] })),
});
export type RevokedSerialQuery = Static<typeof RevokedSerialQuery>;
export const RevokedSerialPage = Type.Object({ items: Type.Array(RevokedSerial), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export type RevokedSerialPage = Static<typeof RevokedSerialPage>;

// ---- principals and tokens ------------------------------------------------------------------
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('provisioner')]);
export type Role = Static<typeof Role>;
export const Principal = Type.Object({
  tokenId: Id,
  name: Type.String(),
  accountId: Id,
  role: Role,
  /** True when the token belongs to the provider (the root account). */
  provider: Type.Boolean(),
  /** When the token stops working (absent: never). Services that cache a verified token honour it. */
  expiresAt: Type.Optional(IsoTime),
});
export type Principal = Static<typeof Principal>;
export const CreateTokenBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }), role: Role, expiresAt: Type.Optional(IsoTime) },
  { additionalProperties: false },
);
export type CreateTokenBody = Static<typeof CreateTokenBody>;
export const TokenInfo = Type.Object({
  id: Id,
  accountId: Id,
  name: Type.String(),
  role: Role,
  expiresAt: Type.Union([IsoTime, Type.Null()]),
  revokedAt: Type.Union([IsoTime, Type.Null()]),
  createdAt: IsoTime,
});
export type TokenInfo = Static<typeof TokenInfo>;
/** `POST /accounts/{id}/tokens` → 201: the token's record plus the token itself, shown this once. */
export const CreatedToken = Type.Object({ ...TokenInfo.properties, token: Type.String() });
export type CreatedToken = Static<typeof CreatedToken>;

/** `GET /api/v1/whoami`: the caller's principal and its account. */
export const WhoAmI = Type.Object({ principal: Principal, account: Account });
export type WhoAmI = Static<typeof WhoAmI>;

/** Actor of a change: who did it, for the audit trail. Never the token secret. */
export const Actor = Type.Object({
  kind: Type.Union([Type.Literal('token'), Type.Literal('system'), Type.Literal('device')]),
  id: Type.String(),
  name: Type.Optional(Type.String()),
  accountId: Type.Optional(Type.String()),
});
export type Actor = Static<typeof Actor>;

// ---- path parameters ------------------------------------------------------------------------
/**
 * The REST API's path parameters, each with what it names and an example (the ids of the API
 * reference's examples), declared once for the routes of every service.
 */
export const PathParams = {
  id: CloneType(Id, { description: 'The account: the token’s own, or one below it.', examples: ['b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30'] }),
  certId: Type.String({ minLength: 1, maxLength: 64, description: 'A certificate registered in that account.', examples: ['3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10'] }),
  credId: CloneType(Id, { description: 'A device credential of that account.', examples: ['e4d3c2b1-0a9f-4e8d-8c7b-6a5f4e3d2c1b'] }),
  tokenId: CloneType(Id, { description: 'An API token of that account.', examples: ['9f8e7d6c5b4a39281706f5e4'] }),
  serial: CloneType(SerialNumber, { description: 'A serial number revoked under that CA: hex, with or without colons or a 0x prefix.', examples: ['4a1b770c'] }),
} as const;
