// One plain sentence per connect and chain reason, for operators reading the audit trail (console and
// CLI). The authoritative table is docs/reason-codes.md; a reason missing here falls back to its code.
import type { ChainReason, ConnectReason } from './reason-codes.js';

const EXPLANATIONS: Partial<Record<ChainReason | ConnectReason, string>> = {
  MUTUAL_TLS: 'Accepted with a trusted client certificate and valid credentials.',
  PLAIN_TLS: 'Accepted on username and password over TLS.',
  CHAIN_EMPTY: 'The device presented no client certificate.',
  CERT_MALFORMED: 'The client certificate could not be read.',
  CHAIN_UNTRUSTED: 'The client certificate does not chain to a valid certificate registered for this account or an account above it.',
  CERT_EXPIRED: 'A certificate on the device’s chain has expired.',
  CERT_NOT_YET_VALID: 'A certificate on the device’s chain is not valid yet (check the device clock).',
  SIGNATURE_INVALID: 'A signature on the device’s chain does not verify.',
  EKU_CLIENT_AUTH_MISSING: 'The device certificate is not allowed for client authentication.',
  WEAK_KEY: 'A key on the device’s chain is too weak.',
  WEAK_SIGNATURE_ALGORITHM: 'A certificate on the device’s chain is signed with a weak algorithm (MD5, SHA-1).',
  CERT_REQUIRED: 'The account requires a client certificate and the device presented none.',
  MTLS_REQUIRED: 'Only mutual TLS is enabled and the device’s certificate did not validate.',
  CERT_SUSPENDED: 'A certificate on the device’s chain is suspended.',
  CERT_REVOKED: 'A certificate on the device’s chain is revoked.',
  ANCHOR_SUSPENDED: 'The CA the device’s certificate chains to is suspended.',
  ANCHOR_REVOKED: 'The CA the device’s certificate chains to is revoked.',
  BAD_CREDENTIALS: 'Wrong MQTT username or password (or a username nobody registered).',
  CREDENTIALS_MISSING: 'The device sent no MQTT username or password.',
  CREDENTIAL_DISABLED: 'The device’s credential is disabled.',
  CREDENTIAL_EXPIRED: 'The device’s credential has expired.',
  RATE_LIMITED: 'Too many failed attempts: refused for a while.',
  CN_MISMATCH: 'The certificate names another device than the client id or username (identity binding).',
  ACCOUNT_UNKNOWN: 'The account could not be determined.',
  TLS_DISABLED: 'Plain TLS is off for the account and no valid certificate was presented.',
  ACCOUNT_DISABLED: 'Both TLS modes are off for the account.',
  UNDECIDABLE: 'The broker could not get a trustworthy answer (a service or NATS unreachable): refused to be safe.',
  CONNECT_TIMEOUT: 'The TLS handshake and CONNECT took too long.',
  PROTOCOL_UNSUPPORTED: 'The device speaks an MQTT version the broker does not accept.',
  CLIENT_ID_REJECTED: 'An empty client id with a persistent session is not allowed.',
  PACKET_TOO_LARGE: 'The device sent more bytes than allowed.',
  SESSION_CERT_STATUS_CHANGED: 'A certificate on its chain was suspended, revoked or deleted.',
  SESSION_SETTINGS_CHANGED: 'The account’s settings changed and no longer allow this session.',
  SESSION_CREDENTIAL_CHANGED: 'Its credential was changed, disabled or deleted.',
  BROKER_DRAINING: 'Its broker replica was shutting down; the device reconnects elsewhere.',
  TOPIC_DENIED: 'A deny rule of the account’s topic permissions refused this publish or subscribe.',
  TOPIC_NOT_ALLOWED: 'No allow rule of the account’s topic permissions covers this publish or subscribe.',
  SESSION_TOPIC_RULES_CHANGED: 'The account’s topic permissions changed and no longer allow one of its subscriptions.',
};

/**
 * What a reason means for this event. With `detail.fallbackRefused` a status reason is about the chain
 * the device's credential last connected with, not the one it presented (docs/broker.md).
 */
export function reasonExplanation(reason: string, detail?: Record<string, unknown>): string | undefined {
  const base = EXPLANATIONS[reason as ConnectReason];
  if (base && detail?.fallbackRefused === true)
    return `${base} The device came without a trusted certificate, and its credential last connected with a chain through that certificate, so it may not fall back to its password.`;
  return base;
}
