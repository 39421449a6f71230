// Why a connect was decided the way it was, and why a chain failed validation. Stable: audit
// consumers and dashboards key on them. Each code has its words (explanation, rule, fix) in
// reason-docs.ts, from which docs/reason-codes.md is generated.

/** Chain validation outcomes (libs/pki). */
export const ChainReasons = {
  OK: 'OK',
  CHAIN_EMPTY: 'CHAIN_EMPTY',
  CERT_MALFORMED: 'CERT_MALFORMED',
  CHAIN_UNTRUSTED: 'CHAIN_UNTRUSTED',
  CHAIN_TOO_LONG: 'CHAIN_TOO_LONG',
  CHAIN_LOOP: 'CHAIN_LOOP',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  CERT_EXPIRED: 'CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'CERT_NOT_YET_VALID',
  ISSUER_NOT_CA: 'ISSUER_NOT_CA',
  PATH_LEN_EXCEEDED: 'PATH_LEN_EXCEEDED',
  KEY_USAGE_INVALID: 'KEY_USAGE_INVALID',
  EKU_CLIENT_AUTH_MISSING: 'EKU_CLIENT_AUTH_MISSING',
  EKU_SERVER_AUTH_MISSING: 'EKU_SERVER_AUTH_MISSING',
  /** A CA on the path has an extendedKeyUsage without clientAuth or anyExtendedKeyUsage. */
  CA_EKU_CLIENT_AUTH_MISSING: 'CA_EKU_CLIENT_AUTH_MISSING',
  /** A CA on the path has an extendedKeyUsage without serverAuth or anyExtendedKeyUsage. */
  CA_EKU_SERVER_AUTH_MISSING: 'CA_EKU_SERVER_AUTH_MISSING',
  UNKNOWN_CRITICAL_EXTENSION: 'UNKNOWN_CRITICAL_EXTENSION',
  NAME_CONSTRAINTS_VIOLATED: 'NAME_CONSTRAINTS_VIOLATED',
  WEAK_KEY: 'WEAK_KEY',
  WEAK_SIGNATURE_ALGORITHM: 'WEAK_SIGNATURE_ALGORITHM',
  UNSUPPORTED_ALGORITHM: 'UNSUPPORTED_ALGORITHM',
  INVALID_EXTENSION: 'INVALID_EXTENSION',
} as const;
export type ChainReason = (typeof ChainReasons)[keyof typeof ChainReasons];

/** Connect decision reasons (broker). Chain reasons appear as-is when the chain decided. */
export const ConnectReasons = {
  ...ChainReasons,
  /** Accepted: mutual TLS with a trusted chain and valid credentials. */
  MUTUAL_TLS: 'MUTUAL_TLS',
  /** Accepted: plain TLS with credentials (certificate not required by the account). */
  PLAIN_TLS: 'PLAIN_TLS',
  CERT_REQUIRED: 'CERT_REQUIRED',
  MTLS_REQUIRED: 'MTLS_REQUIRED',
  CERT_SUSPENDED: 'CERT_SUSPENDED',
  CERT_REVOKED: 'CERT_REVOKED',
  ANCHOR_SUSPENDED: 'ANCHOR_SUSPENDED',
  ANCHOR_REVOKED: 'ANCHOR_REVOKED',
  /** A certificate on the path is listed on the CRL of the CA that issued it. */
  CERT_REVOKED_BY_CRL: 'CERT_REVOKED_BY_CRL',
  /** A certificate on the path has a revoked-serial entry under the CA that issued it. */
  CERT_SERIAL_REVOKED: 'CERT_SERIAL_REVOKED',
  /** The CRL of a CA on the path is past its nextUpdate and the account refuses stale CRLs. */
  CRL_STALE: 'CRL_STALE',
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  CREDENTIALS_MISSING: 'CREDENTIALS_MISSING',
  CREDENTIAL_DISABLED: 'CREDENTIAL_DISABLED',
  CREDENTIAL_EXPIRED: 'CREDENTIAL_EXPIRED',
  /**
   * The credential requires a verified certificate and the connection has no clean verified chain
   * (none, or untrusted, with plain TLS on; or mutual TLS off): no fallback to the password.
   */
  CREDENTIAL_REQUIRES_CERTIFICATE: 'CREDENTIAL_REQUIRES_CERTIFICATE',
  RATE_LIMITED: 'RATE_LIMITED',
  CN_MISMATCH: 'CN_MISMATCH',
  ACCOUNT_UNKNOWN: 'ACCOUNT_UNKNOWN',
  TLS_DISABLED: 'TLS_DISABLED',
  /** Neither plain nor mutual TLS is enabled for the account. */
  ACCOUNT_DISABLED: 'ACCOUNT_DISABLED',
  /** The broker could not get an answer it trusts (NATS or an owner unreachable, cache stale): fail closed. */
  UNDECIDABLE: 'UNDECIDABLE',
  CONNECT_TIMEOUT: 'CONNECT_TIMEOUT',
  /** The CONNECT names an MQTT protocol level this broker does not speak (e.g. MQTT 5): CONNACK 1. */
  PROTOCOL_UNSUPPORTED: 'PROTOCOL_UNSUPPORTED',
  /** [MQTT-3.1.3-8] a zero-length client id with a persistent session (clean session 0): CONNACK 2. */
  CLIENT_ID_REJECTED: 'CLIENT_ID_REJECTED',
  /** The socket exceeded a byte limit (before CONNECT was decided, or one packet after): closed. */
  PACKET_TOO_LARGE: 'PACKET_TOO_LARGE',
  /** Session ended because a certificate on its chain changed status or was deleted. */
  SESSION_CERT_STATUS_CHANGED: 'SESSION_CERT_STATUS_CHANGED',
  /** Session ended because the account's settings or the device credential changed. */
  SESSION_SETTINGS_CHANGED: 'SESSION_SETTINGS_CHANGED',
  SESSION_CREDENTIAL_CHANGED: 'SESSION_CREDENTIAL_CHANGED',
  /** Session ended because its replica is shutting down (graceful drain); the device reconnects elsewhere. */
  BROKER_DRAINING: 'BROKER_DRAINING',
  /** Messages for a persistent session dropped: its queue held `TWOWAY_MQTT_QUEUE_MAX_MESSAGES` already. */
  QUEUE_FULL: 'QUEUE_FULL',
  /** Messages for a persistent session dropped: one message was larger than `TWOWAY_MQTT_QUEUE_MAX_BYTES`. */
  QUEUE_BYTES: 'QUEUE_BYTES',
  /** Messages for a persistent session dropped: they waited longer than `TWOWAY_MQTT_QUEUE_EXPIRY_MS`. */
  EXPIRED: 'EXPIRED',
  /** Session ended because it had to be decided again and no answer came within the bound: fail closed. */
  SESSION_UNDECIDABLE: 'SESSION_UNDECIDABLE',
  /** A PUBLISH or SUBSCRIBE refused by a `deny` topic rule of the account (`detail.rule` is its index). */
  TOPIC_DENIED: 'TOPIC_DENIED',
  /** A PUBLISH or SUBSCRIBE that no `allow` topic rule of the account covers (the account has rules). */
  TOPIC_NOT_ALLOWED: 'TOPIC_NOT_ALLOWED',
  /** Session ended because the account's new topic rules forbid one of its subscriptions (removed first). */
  SESSION_TOPIC_RULES_CHANGED: 'SESSION_TOPIC_RULES_CHANGED',
} as const;
export type ConnectReason = (typeof ConnectReasons)[keyof typeof ConnectReasons];
