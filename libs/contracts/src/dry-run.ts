// A dry run of the connect decision: "why was sensor-17 refused?" answered by the broker's own decision
// code on the live registry, settings and credentials, without a connection. The REST route
// (`POST /api/v1/accounts/{id}/dry-run`, cert-registry) checks and bounds the input, then asks any broker
// replica over NATS (`twoway.v1.connect.dry_run`, queue group); the broker gathers the facts and decides as
// for a CONNECT, but opens no session, writes no connect audit event and counts no failed password.
import { Type, type Static } from '@sinclair/typebox';
import { CredentialVerifyReply } from './messages.js';
import { CertKind, CertStatus, Id, IsoTime, Settings } from './model.js';

/** Most certificates a dry run takes (leaf and intermediates): a device sending more is misconfigured. */
export const DRY_RUN_MAX_CERTIFICATES = 10;
/** Longest PEM text of a dry run's chain, in characters (ten RSA-4096 certificates fit in a third of it). */
export const DRY_RUN_MAX_CHAIN_CHARS = 65_536;

/** No control characters: these strings reach the audit trail and the console. */
const Printable = (o: { minLength?: number; maxLength: number; description: string }) => Type.String({ ...o, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });

/** `POST /api/v1/accounts/{id}/dry-run`: what the device presents. The password is optional and never stored, logged or echoed. */
export const DryRunBody = Type.Object(
  {
    chain: Type.Optional(
      Type.String({
        maxLength: DRY_RUN_MAX_CHAIN_CHARS,
        description: `The certificates the device presents, PEM with their BEGIN and END lines: its own first, then the intermediates it sends (at most ${DRY_RUN_MAX_CERTIFICATES}). Absent or empty: the device presents no certificate. Never a private key.`,
      }),
    ),
    clientId: Type.Optional(Printable({ maxLength: 256, description: 'The MQTT client id the device sends (absent: none, as a device with an empty client id).' })),
    username: Type.Optional(Printable({ minLength: 1, maxLength: 256, description: 'The MQTT username the device sends.' })),
    password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, description: 'The MQTT password the device sends. Absent: the decision assumes it is right and says what the password check needs.' }),
    ),
  },
  { additionalProperties: false },
);
export type DryRunBody = Static<typeof DryRunBody>;

/** A registration (trust anchor entry) a certificate of the chain matched, by fingerprint or as another copy of the same CA. */
export const DryRunRegistration = Type.Object({
  id: Id,
  accountId: Id,
  /** The registered certificate's fingerprint: another than the certificate's own when it is a copy of the same CA (same subject and key). */
  fingerprint: Type.String(),
  status: CertStatus,
  /** The operator's name of the registration, when the caller's token can read it. */
  name: Type.Optional(Type.String()),
  /** Registered in an account above the one decided for (anchors of a parent account apply below it). */
  inherited: Type.Boolean(),
});
export type DryRunRegistration = Static<typeof DryRunRegistration>;

export const DryRunCertificate = Type.Object({
  subject: Type.String({ description: 'Subject DN (RFC 4514), as the certificate says: escape it before display.' }),
  issuer: Type.String(),
  fingerprint: Type.String({ description: 'SHA-256 of the DER, lowercase hex.' }),
  serial: Type.String(),
  notBefore: IsoTime,
  notAfter: IsoTime,
  kind: CertKind,
  keyType: Type.String(),
  /** The validity period at the time of the dry run (inclusive, RFC 5280 §4.1.2.5). */
  validity: Type.Union([Type.Literal('valid'), Type.Literal('expired'), Type.Literal('not_yet_valid')]),
  registrations: Type.Array(DryRunRegistration),
});
export type DryRunCertificate = Static<typeof DryRunCertificate>;

export const DryRunPathEntry = Type.Object({
  ...DryRunCertificate.properties,
  /** Leaf first, the anchor last; a one-certificate path is a pinned leaf. */
  role: Type.Union([Type.Literal('leaf'), Type.Literal('intermediate'), Type.Literal('anchor')]),
  /** Sent by the device, or taken from the registry (an anchor the device need not send). */
  from: Type.Union([Type.Literal('presented'), Type.Literal('registered')]),
});
export type DryRunPathEntry = Static<typeof DryRunPathEntry>;

export const DryRunResult = Type.Object({
  decision: Type.Union([Type.Literal('admit'), Type.Literal('refuse')]),
  /** The reason code the broker's decision gave (docs/reason-codes.md), as a real CONNECT's audit event would carry it. */
  reason: Type.String(),
  /** The CONNACK return code a refused device gets (MQTT 3.1.1: 4 bad username or password, 5 not authorised). */
  returnCode: Type.Optional(Type.Integer()),
  /** How an admitted device got in. */
  mode: Type.Optional(Type.Union([Type.Literal('mutual'), Type.Literal('plain'), Type.Literal('fallback')])),
  explanation: Type.String(),
  /** What to do about the reason (absent when nothing needs doing). */
  fix: Type.Optional(Type.String()),
  /** The account the device was decided for: its credential's, within the account asked about; null when no credential of it matched. */
  account: Type.Union([Id, Type.Null()]),
  credential: Type.Object({
    found: Type.Boolean({ description: 'A credential with this key exists in the account asked about or below it.' }),
    key: Type.Optional(Type.Union([Type.Literal('username'), Type.Literal('certificateCn'), Type.Literal('certificateSubject')])),
    username: Type.Optional(Type.String()),
    accountId: Type.Optional(Id),
  }),
  password: Type.Object({
    checked: Type.Boolean({ description: 'The password was given and verified; false: the decision assumed it right.' }),
    /** What the password check needs, when it was not made. */
    note: Type.Optional(Type.String()),
  }),
  chain: Type.Object({
    status: Type.Union([Type.Literal('none'), Type.Literal('not_evaluated'), Type.Literal('untrusted'), Type.Literal('blocked'), Type.Literal('trusted')]),
    /** The chain's own reason (a chain reason, or a status reason for a blocked chain). */
    reason: Type.Optional(Type.String()),
    /** The validator's words, e.g. which certificate expired when. */
    detail: Type.Optional(Type.String()),
    /** Whose anchors the chain was evaluated against. */
    evaluatedFor: Type.Optional(Id),
    presented: Type.Array(DryRunCertificate),
    /** The validated path (trusted or blocked), else the validator's best candidate path. */
    path: Type.Array(DryRunPathEntry),
    /** The registration that blocks the path (SUSPENDED or REVOKED). */
    blockedBy: Type.Optional(Type.Object({ fingerprint: Type.String() })),
  }),
  /** The settings that applied (the decided account's, else the account asked about). */
  settings: Type.Union([
    Type.Object({
      ...Settings.properties,
      /** Mutual TLS and plain TLS both on: a device without a trusted certificate falls back to its password. `used`: this one did. */
      fallback: Type.Union([Type.Literal('off'), Type.Literal('available'), Type.Literal('used')]),
    }),
    Type.Null(),
  ]),
  /** What the dry run assumed or could not know (no password given, per-address lockouts, …). */
  notes: Type.Array(Type.String()),
  /** The broker replica that decided. */
  replica: Type.String(),
  decidedAt: IsoTime,
});
export type DryRunResult = Static<typeof DryRunResult>;

/** `twoway.v1.connect.dry_run`: the device as cert-registry checked it. `chain`: DER, base64, leaf first. */
export const DryRunRequest = Type.Object({
  accountId: Id,
  chain: Type.Array(Type.String({ maxLength: DRY_RUN_MAX_CHAIN_CHARS }), { maxItems: DRY_RUN_MAX_CERTIFICATES }),
  clientId: Type.Optional(Type.String({ maxLength: 256 })),
  username: Type.Optional(Type.String({ maxLength: 256 })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type DryRunRequest = Static<typeof DryRunRequest>;

/**
 * `twoway.v1.credential.inspect`: a credential as a connect would find it, without a side effect (no
 * failure counted, nothing remembered): only one inside `withinAccount`'s subtree is answered, any other
 * is as unknown. Without `password` the password is not checked (`passwordChecked: false`).
 */
export const CredentialInspectRequest = Type.Object({
  key: Type.String({ maxLength: 1024 }),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  withinAccount: Id,
  chainVerified: Type.Optional(Type.Boolean()),
});
export type CredentialInspectRequest = Static<typeof CredentialInspectRequest>;
export const CredentialInspectReply = Type.Object({ ...CredentialVerifyReply.properties, passwordChecked: Type.Boolean() });
export type CredentialInspectReply = Static<typeof CredentialInspectReply>;
