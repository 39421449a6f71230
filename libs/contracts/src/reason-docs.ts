// What each reason code means, in one place: a plain sentence for operators (console, CLI, dry-run
// replies) and the fix (ReasonDocs), and the precise rule (ReasonRules). docs/reason-codes.md's tables are
// generated from them (`scripts/reason-codes-doc.ts`) and a test keeps them equal, so the words an
// operator reads in the console, the CLI and the docs cannot drift apart.
import { ChainReasons, ConnectReasons, type ConnectReason } from './reason-codes.js';

export interface ReasonDoc {
  /** One plain sentence for the operator reading an audit row or a dry-run answer. */
  explanation: string;
  /** What to do about it ('—' for outcomes that need nothing). */
  fix: string;
}

/** A Record over every code: a reason added to reason-codes.ts without its words here fails to compile. */
export const ReasonDocs: Record<ConnectReason, ReasonDoc> = {
  OK: {
    explanation: 'The chain is valid.',
    fix: '—',
  },
  CHAIN_EMPTY: {
    explanation: 'The device presented no client certificate.',
    fix: 'Configure the device to send its certificate.',
  },
  CERT_MALFORMED: {
    explanation: 'The client certificate could not be read.',
    fix: 'Reissue the certificate with a conforming CA.',
  },
  CHAIN_UNTRUSTED: {
    explanation: 'The client certificate does not chain to a valid certificate registered for this account or an account above it.',
    fix: 'Register the root or intermediate as an anchor, or make the device send its intermediates.',
  },
  CHAIN_TOO_LONG: {
    explanation: 'The device’s chain is longer than the broker follows, or no registered anchor was found within that length.',
    fix: 'Shorten the hierarchy or register an intermediate as the anchor.',
  },
  CHAIN_LOOP: {
    explanation: 'The device’s chain goes round in a circle (CAs that certify each other) without reaching a registered anchor.',
    fix: 'Send the intended chain; register its root.',
  },
  SIGNATURE_INVALID: {
    explanation: 'A signature on the device’s chain does not verify.',
    fix: 'Reissue from the right CA.',
  },
  CERT_EXPIRED: {
    explanation: 'A certificate on the device’s chain has expired.',
    fix: 'Renew the certificate.',
  },
  CERT_NOT_YET_VALID: {
    explanation: 'A certificate on the device’s chain is not valid yet (check the device clock).',
    fix: 'Check the device or CA clock; wait or reissue.',
  },
  ISSUER_NOT_CA: {
    explanation: 'A certificate on the device’s chain issues another one but is not a CA.',
    fix: 'Issue intermediates as CAs.',
  },
  PATH_LEN_EXCEEDED: {
    explanation: 'The device’s chain has more intermediate CAs than a CA above them allows.',
    fix: 'Raise the path length or flatten the hierarchy.',
  },
  KEY_USAGE_INVALID: {
    explanation: 'A certificate on the device’s chain does not allow the use it is put to (key usage).',
    fix: 'Reissue with the right key usage.',
  },
  EKU_CLIENT_AUTH_MISSING: {
    explanation: 'The device certificate is not allowed for client authentication.',
    fix: 'Issue device certificates with EKU clientAuth (`twoway pki issue-device` does).',
  },
  EKU_SERVER_AUTH_MISSING: {
    explanation: 'The server certificate is not allowed for server authentication.',
    fix: 'Issue server certificates with EKU serverAuth.',
  },
  CA_EKU_CLIENT_AUTH_MISSING: {
    explanation: 'A CA on the device’s chain is restricted to purposes other than client authentication.',
    fix: 'Register or send a CA whose EKU includes clientAuth (or has no EKU); a server-only CA cannot issue device certificates.',
  },
  CA_EKU_SERVER_AUTH_MISSING: {
    explanation: 'A CA on the server certificate’s chain is restricted to purposes other than server authentication.',
    fix: 'Issue server certificates from a CA whose EKU includes serverAuth (or has none).',
  },
  UNKNOWN_CRITICAL_EXTENSION: {
    explanation: 'A certificate on the device’s chain has a critical extension the broker does not understand.',
    fix: 'Reissue without it, or mark it non-critical.',
  },
  NAME_CONSTRAINTS_VIOLATED: {
    explanation: 'A name in the device’s chain is outside what its CA may certify (name constraints).',
    fix: 'Issue names inside the CA\'s constraints.',
  },
  WEAK_KEY: {
    explanation: 'A key on the device’s chain is too weak.',
    fix: 'Reissue with ECDSA P-256 (default of `twoway pki`) or RSA ≥ 2048.',
  },
  WEAK_SIGNATURE_ALGORITHM: {
    explanation: 'A certificate on the device’s chain is signed with a weak algorithm (MD5, SHA-1).',
    fix: 'Reissue with SHA-256 or better.',
  },
  UNSUPPORTED_ALGORITHM: {
    explanation: 'A certificate on the device’s chain uses a key or signature algorithm the broker does not support.',
    fix: 'Use ECDSA, RSA (PKCS#1 v1.5 or PSS) or Ed25519.',
  },
  INVALID_EXTENSION: {
    explanation: 'A certificate on the device’s chain has a malformed or repeated extension.',
    fix: 'Reissue the certificate.',
  },
  MUTUAL_TLS: {
    explanation: 'Accepted with a trusted client certificate and valid credentials.',
    fix: '—',
  },
  PLAIN_TLS: {
    explanation: 'Accepted on username and password over TLS.',
    fix: '—',
  },
  CERT_REQUIRED: {
    explanation: 'The account requires a client certificate and the device presented none.',
    fix: 'Configure the device to present its client certificate: with credentials looked up by certificate CN or subject, a device without one cannot be identified.',
  },
  MTLS_REQUIRED: {
    explanation: 'Only mutual TLS is enabled and the device’s certificate did not validate.',
    fix: 'Give the device a client certificate whose chain reaches a VALID anchor of its account, or turn plain TLS on for the account to let credentials alone in (the fallback).',
  },
  CERT_SUSPENDED: {
    explanation: 'A certificate on the device’s chain is suspended.',
    fix: 'Set the certificate VALID again when the suspension should end, or give the device a new certificate that is not suspended.',
  },
  CERT_REVOKED: {
    explanation: 'A certificate on the device’s chain is revoked.',
    fix: 'Give the device a new certificate, or set the registration VALID again if it was revoked by mistake.',
  },
  ANCHOR_SUSPENDED: {
    explanation: 'The CA the device’s certificate chains to is suspended.',
    fix: 'Set the CA VALID again when the suspension should end, or move the device to a certificate under another VALID anchor.',
  },
  ANCHOR_REVOKED: {
    explanation: 'The CA the device’s certificate chains to is revoked.',
    fix: 'Reissue the device’s certificate under a VALID anchor, or set the CA VALID again if it was revoked by mistake.',
  },
  CERT_REVOKED_BY_CRL: {
    explanation: 'A certificate on the device’s chain is listed on its CA’s certificate revocation list.',
    fix: 'Give the device a new certificate; if the CRL lists it by mistake, upload a corrected CRL for the CA.',
  },
  CERT_SERIAL_REVOKED: {
    explanation: 'The serial number of a certificate on the device’s chain was revoked under its CA.',
    fix: 'Give the device a new certificate, or restore the serial (`twoway certs restore-serial`) if it was revoked by mistake.',
  },
  CRL_STALE: {
    explanation: 'The revocation list of a CA on the device’s chain is out of date (past its next update) and the account refuses stale lists.',
    fix: 'Upload the CA’s current CRL or fix its distribution point (`twoway certs crl-fetch`), or set the account’s stale-CRL policy to accept.',
  },
  BAD_CREDENTIALS: {
    explanation: 'Wrong MQTT username or password (or a username nobody registered).',
    fix: 'Check the username and password configured on the device against its credential (`twoway credentials ls`); set a new password if it was lost.',
  },
  CREDENTIALS_MISSING: {
    explanation: 'The device sent no MQTT username or password.',
    fix: 'Configure the device to send its MQTT username and password (with lookup by certificate: its certificate and password).',
  },
  CREDENTIAL_DISABLED: {
    explanation: 'The device’s credential is disabled.',
    fix: 'Enable the credential again (`twoway credentials enable USERNAME`) if the device should connect.',
  },
  CREDENTIAL_EXPIRED: {
    explanation: 'The device’s credential has expired.',
    fix: 'Give the credential a later expiry, or a new credential to the device.',
  },
  CREDENTIAL_REQUIRES_CERTIFICATE: {
    explanation: 'The device’s credential requires a verified client certificate and the device came without one that verified (or the account has mutual TLS off): its password alone is not enough.',
    fix: 'Have the device present its certificate; if its CA was suspended or revoked, the refusal is the intent; otherwise turn off “Requires a verified certificate” on the credential (`twoway credentials update NAME --no-require-certificate`).',
  },
  RATE_LIMITED: {
    explanation: 'Too many failed attempts: refused for a while.',
    fix: 'Fix the password the device sends and wait for the lockout to pass (`TWOWAY_CREDENTIAL_LOCKOUT_MS`); the audit trail shows where the failed attempts came from.',
  },
  CN_MISMATCH: {
    explanation: 'The certificate names another device than the client id or username (identity binding).',
    fix: 'Connect with the client id or username the certificate names (its CN or a SAN), issue the device a certificate that names its own id, or relax the account’s identity binding.',
  },
  ACCOUNT_UNKNOWN: {
    explanation: 'The account could not be determined.',
    fix: 'Check that the device’s credential belongs to an existing account.',
  },
  TLS_DISABLED: {
    explanation: 'Plain TLS is off for the account and no valid certificate was presented.',
    fix: 'Give the device a trusted client certificate, or turn plain TLS on for the account.',
  },
  ACCOUNT_DISABLED: {
    explanation: 'Both TLS modes are off for the account.',
    fix: 'Turn plain TLS or mutual TLS on in the account’s settings.',
  },
  UNDECIDABLE: {
    explanation: 'The broker could not get a trustworthy answer (a service or NATS unreachable): refused to be safe.',
    fix: 'Check that NATS, cert-registry and account-settings are up (`/readyz`); the device gets its answer on the next try once they answer.',
  },
  CONNECT_TIMEOUT: {
    explanation: 'The TLS handshake and CONNECT, or the broker\'s decision on the CONNECT, took too long (a CONNECT being decided is answered CONNACK 5).',
    fix: 'Check the device’s network and that it sends CONNECT right after the handshake; if many devices see it at once, check that cert-registry and account-settings keep up (`/readyz`, their request metrics). `TWOWAY_CONNECT_DEADLINE_MS` sets the bound.',
  },
  CLIENT_ID_REJECTED: {
    explanation: 'An empty client id with a persistent session is not allowed.',
    fix: 'Give the device a client id, or connect with a clean session.',
  },
  PROTOCOL_UNSUPPORTED: {
    explanation: 'The device speaks an MQTT version the broker does not accept.',
    fix: 'Configure the client for MQTT 3.1.1 (protocol level 4).',
  },
  PACKET_TOO_LARGE: {
    explanation: 'The device sent more bytes than allowed.',
    fix: 'Send smaller packets, or raise `TWOWAY_MQTT_MAX_CONNECT_BYTES` / `TWOWAY_MQTT_MAX_PACKET_BYTES`.',
  },
  SESSION_CERT_STATUS_CHANGED: {
    explanation: 'A certificate on its chain was suspended, revoked (also by a CRL or a revoked serial) or deleted.',
    fix: 'Intended when the change was: the device stays out until the certificate is VALID again or it gets another one.',
  },
  SESSION_SETTINGS_CHANGED: {
    explanation: 'The account’s settings changed and no longer allow this session.',
    fix: 'Check the account’s settings: the device gets back in when they allow it.',
  },
  SESSION_CREDENTIAL_CHANGED: {
    explanation: 'Its credential was changed, disabled or deleted.',
    fix: 'Give the device its new password, or enable its credential again.',
  },
  QUEUE_FULL: {
    explanation: 'Messages for a device that was away were dropped: its queue was full.',
    fix: 'Let the device reconnect sooner, or raise `TWOWAY_MQTT_QUEUE_MAX_MESSAGES`.',
  },
  QUEUE_BYTES: {
    explanation: 'A message for a device that was away was dropped: it was too large to queue.',
    fix: 'Publish smaller messages, or raise `TWOWAY_MQTT_QUEUE_MAX_BYTES`.',
  },
  EXPIRED: {
    explanation: 'Messages for a device that was away were dropped: they waited too long.',
    fix: 'Let the device reconnect sooner, or raise `TWOWAY_MQTT_QUEUE_EXPIRY_MS`.',
  },
  TOPIC_DENIED: {
    explanation: 'A deny rule of the account’s topic permissions refused this publish or subscribe.',
    fix: 'Intended if the rule is right; otherwise change the account’s topic rules (`twoway topic-rules ls`; the console’s Topic permissions).',
  },
  TOPIC_NOT_ALLOWED: {
    explanation: 'No allow rule of the account’s topic permissions covers this publish or subscribe.',
    fix: 'Add an allow rule that covers the topic (`twoway topic-rules add`), or have the device use a topic the rules allow.',
  },
  SESSION_TOPIC_RULES_CHANGED: {
    explanation: 'The account’s topic permissions changed and no longer allow one of its subscriptions.',
    fix: 'Nothing if intended: the device reconnects and its forbidden SUBSCRIBE is refused (0x80).',
  },
  BROKER_DRAINING: {
    explanation: 'Its broker replica was shutting down; the device reconnects elsewhere.',
    fix: 'Nothing: the device reconnects to another replica.',
  },
  SESSION_UNDECIDABLE: {
    explanation: 'The session had to be decided again and no trustworthy answer came in time: ended to be safe.',
    fix: 'Check NATS and the owning services (`/readyz`); the device reconnects once they answer.',
  },
};

/**
 * The precise rule of each code (Markdown), for docs/reason-codes.md: kept apart from ReasonDocs so the
 * console, which shows explanations and fixes only, does not bundle it.
 */
export const ReasonRules: Record<ConnectReason, string> = {
  OK: 'The chain is valid: a path from the leaf to a registered anchor passed every check.',
  CHAIN_EMPTY: 'No certificate was presented (or a bulk case has no leaf).',
  CERT_MALFORMED: 'A certificate on the path is not a well-formed X.509 v3 certificate: undecodable DER, version 1 or 2, an empty issuer name (RFC 5280 §4.1.2.4), a malformed public key, or `signatureAlgorithm` differing from the TBS `signature` field (§4.1.1.2).',
  CHAIN_UNTRUSTED: 'No path reaches a registered anchor: the issuer is neither registered nor in the presented chain, or the chain ends at a self-signed root that is not registered.',
  CHAIN_TOO_LONG: 'No anchor within `maxDepth` certificates (default 16, leaf and anchor included), or path building gave up after its bound on candidate issuers (512).',
  CHAIN_LOOP: 'The only candidate paths revisit a certificate (CAs that certify each other with no anchor above).',
  SIGNATURE_INVALID: 'A certificate\'s signature does not verify with the key of any certificate bearing its issuer\'s name (damaged signature, wrong issuer key, algorithm not matching the key type).',
  CERT_EXPIRED: 'A certificate on the path (leaf, intermediate or anchor) is past its `notAfter` (inclusive, one-second resolution).',
  CERT_NOT_YET_VALID: 'A certificate on the path is before its `notBefore`.',
  ISSUER_NOT_CA: 'A certificate that issues another lacks basicConstraints `cA:TRUE` (absent extension or `cA:FALSE`), RFC 5280 §4.2.1.9.',
  PATH_LEN_EXCEEDED: 'More non-self-issued intermediates below a CA than its `pathLenConstraint` allows (§6.1.4 (l)(m)).',
  KEY_USAGE_INVALID: 'An issuer\'s keyUsage lacks `keyCertSign`, or the leaf\'s keyUsage lacks `digitalSignature` (client), or lacks digitalSignature/keyEncipherment/keyAgreement (server).',
  EKU_CLIENT_AUTH_MISSING: 'The leaf has an extendedKeyUsage without `clientAuth` (purpose client). `anyExtendedKeyUsage` alone does not count. A leaf without the extension is accepted.',
  EKU_SERVER_AUTH_MISSING: 'The leaf has an extendedKeyUsage without `serverAuth` (purpose server).',
  CA_EKU_CLIENT_AUTH_MISSING: 'A CA on the path (intermediate or anchor) has an extendedKeyUsage that lists neither `clientAuth` nor `anyExtendedKeyUsage` (purpose client): it cannot vouch for a client certificate, as OpenSSL, Go, NSS and Windows also decide (docs/conformance.md). A CA without the extension is not restricted.',
  CA_EKU_SERVER_AUTH_MISSING: 'A CA on the path has an extendedKeyUsage that lists neither `serverAuth` nor `anyExtendedKeyUsage` (purpose server).',
  UNKNOWN_CRITICAL_EXTENSION: 'A certificate on the path carries a critical extension the validator does not process (§4.2). Understood as critical: basicConstraints, keyUsage, extKeyUsage, subjectAltName, issuerAltName, nameConstraints, key identifiers, certificatePolicies.',
  NAME_CONSTRAINTS_VIOLATED: 'A subject DN, subjectAltName (DNS, email, URI, IP, directoryName) or legacy emailAddress lies outside a CA\'s permitted subtrees or inside an excluded one (§4.2.1.10, §6.1.3 (b)(c)); a name that is malformed under an applicable constraint, or of a form we do not process (otherName, x400, ediParty, registeredID) under a constraint of that form, is refused too.',
  WEAK_KEY: 'A key on the path is RSA below 2048 bits, DSA, or EC on a curve other than P-256, P-384, P-521.',
  WEAK_SIGNATURE_ALGORITHM: 'A certificate on the path (other than the anchor itself) is signed with MD2, MD4, MD5 or SHA-1 (including RSA-PSS with SHA-1 and DSA).',
  UNSUPPORTED_ALGORITHM: 'A signature or key algorithm the validator does not implement (e.g. EC keys with explicit curve parameters, PSS with an MGF other than MGF1, unknown OIDs).',
  INVALID_EXTENSION: 'An extension is malformed or repeated (§4.2: each at most once): e.g. an empty extendedKeyUsage, a keyUsage with no bit set, name constraints with wildcards, non-CIDR masks or neither subtree.',
  MUTUAL_TLS: 'Accepted: mutual TLS with a trusted chain and valid credentials.',
  PLAIN_TLS: 'Accepted: plain TLS with credentials (certificate not required by the account, or the recorded fallback).',
  CERT_REQUIRED: 'Refused: the account requires a client certificate and none was presented.',
  MTLS_REQUIRED: 'Refused: only mutual TLS is enabled and the certificate did not validate.',
  CERT_SUSPENDED: 'Refused: a certificate on the validated path is registered as SUSPENDED, or is another copy of a CA registered as SUSPENDED (same subject and public key, e.g. a renewed or cross-signed copy); every candidate path was tried and none was clean.',
  CERT_REVOKED: 'Refused: as `CERT_SUSPENDED`, with REVOKED.',
  ANCHOR_SUSPENDED: 'Refused: the anchor the path ends at is SUSPENDED (or is a copy of a CA registered as SUSPENDED) — the presented path, or (with `detail.fallbackRefused`) the path the credential last connected with, when the device came without a trusted certificate and would have fallen back ([broker](broker.md), "Suspending shuts the device out"). The same holds for the three status reasons around it.',
  ANCHOR_REVOKED: 'Refused: the anchor the path ends at is REVOKED (or a copy of a CA registered as REVOKED; presented, or last connected with: see `ANCHOR_SUSPENDED`).',
  CERT_REVOKED_BY_CRL: 'Refused: a certificate on the validated path is listed on the CRL stored for the registered CA that issued it (its issuer on the path, or a registration with the same subject and key) in the account or an ancestor. `detail.blockedSerial` and `detail.blockedFingerprint` (the certificate) say which. Every candidate path was tried.',
  CERT_SERIAL_REVOKED: 'Refused: as `CERT_REVOKED_BY_CRL`, for a revoked-serial entry (revoked by issuer and serial number, without its certificate). When a serial has both, this reason wins.',
  CRL_STALE: 'Refused: the CRL of a CA on the validated path is past its nextUpdate and the account\'s `revocation.staleCrl` is `refuse`. With `accept` (the default) the device is admitted and the accept event carries `detail.staleCrl`.',
  BAD_CREDENTIALS: 'Refused: wrong MQTT username or password.',
  CREDENTIALS_MISSING: 'Refused: no MQTT username or password.',
  CREDENTIAL_DISABLED: 'Refused: the device credential is disabled.',
  CREDENTIAL_EXPIRED: 'Refused: the device credential has expired.',
  CREDENTIAL_REQUIRES_CERTIFICATE: 'Refused (CONNACK 5): the credential requires a verified certificate (`requireCertificate`) and the connection has no verified, clean chain — none was presented or it did not verify (`detail.chainReason`: `CHAIN_EMPTY`, `CHAIN_UNTRUSTED`, …) while plain TLS would have let the password alone in, or the account has mutual TLS off so no chain can verify. A chain that verified but is suspended or revoked keeps its status reason ([broker](broker.md), "Credentials that require a certificate").',
  RATE_LIMITED: 'Refused: too many attempts from this source.',
  CN_MISMATCH: 'Refused: the certificate CN/SAN does not match the client id or username the account binds it to.',
  ACCOUNT_UNKNOWN: 'Refused: the account could not be determined or does not exist.',
  TLS_DISABLED: 'Refused: plain TLS is disabled for the account and no valid certificate was presented.',
  ACCOUNT_DISABLED: 'Refused: neither plain nor mutual TLS is enabled for the account.',
  UNDECIDABLE: 'Refused: the broker could not get an answer it trusts (NATS or an owner unreachable, cache stale): fail closed.',
  CONNECT_TIMEOUT: 'Refused: TLS handshake plus CONNECT exceeded the deadline.',
  CLIENT_ID_REJECTED: 'Refused with CONNACK 2 (identifier rejected): a zero-length client id asked for a persistent session (clean session 0), which MQTT 3.1.1 forbids ([MQTT-3.1.3-8]); with a clean session such a device gets a generated id.',
  PROTOCOL_UNSUPPORTED: 'Refused with CONNACK 1 (MQTT 5 clients read it as 0x84, unsupported protocol version): the CONNECT names a protocol level other than MQTT 3.1 or 3.1.1. `detail.protocolVersion` says which.',
  PACKET_TOO_LARGE: 'Refused or session ended: the socket sent more than `TWOWAY_MQTT_MAX_CONNECT_BYTES` before its CONNECT was decided, or a packet larger than `TWOWAY_MQTT_MAX_PACKET_BYTES` afterwards; it was closed before the bytes were buffered (docs/limits.md). On wss also a WebSocket message larger than the greater of the two (`detail.websocketMessage: true`).',
  SESSION_CERT_STATUS_CHANGED: 'Session ended: a certificate on its chain changed status or was deleted, or its serial was revoked by a CRL or a revoked-serial entry (`detail.decision` names `CERT_REVOKED_BY_CRL` or `CERT_SERIAL_REVOKED`).',
  SESSION_SETTINGS_CHANGED: 'Session ended: the account\'s settings changed.',
  SESSION_CREDENTIAL_CHANGED: 'Session ended: the device credential changed (new password, disabled, expiry), or it now requires a certificate and the session is not on a verified one (`detail.decision: CREDENTIAL_REQUIRES_CERTIFICATE`).',
  QUEUE_FULL: 'Messages dropped (`session.messages_dropped`): the persistent session\'s offline queue already held `TWOWAY_MQTT_QUEUE_MAX_MESSAGES`; the newest is refused.',
  QUEUE_BYTES: 'Messages dropped (`session.messages_dropped`): one message was larger than `TWOWAY_MQTT_QUEUE_MAX_BYTES`.',
  EXPIRED: 'Messages dropped (`session.messages_dropped`): they waited in the queue longer than `TWOWAY_MQTT_QUEUE_EXPIRY_MS`.',
  TOPIC_DENIED: 'A PUBLISH or SUBSCRIBE refused (`session.topic_denied`): a `deny` topic rule of the account matched it first; `detail.rule` is its index ([permissions](permissions.md)).',
  TOPIC_NOT_ALLOWED: 'A PUBLISH or SUBSCRIBE refused (`session.topic_denied`): the account has topic rules and none allows it.',
  SESSION_TOPIC_RULES_CHANGED: 'Session ended: the account\'s new topic rules forbid one of its subscriptions, which was removed first; `detail.filters` names them. The device reconnects and its SUBSCRIBE is answered `0x80`.',
  BROKER_DRAINING: 'Session ended: its broker replica is shutting down (graceful drain, e.g. a rolling restart); the device reconnects to another replica.',
  SESSION_UNDECIDABLE: 'Session ended: it had to be decided again (settings change, resync after a NATS outage) and the owners gave no answer within the bound (TWOWAY_STALE_AFTER_MS, a few retries): fail closed.',
};

const docOf = (reason: string): ReasonDoc | undefined => (Object.hasOwn(ReasonDocs, reason) ? ReasonDocs[reason as ConnectReason] : undefined);

/**
 * What a reason means for this event. With `detail.fallbackRefused` a status reason is about the chain
 * the device's credential last connected with, not the one it presented (docs/broker.md).
 */
export function reasonExplanation(reason: string, detail?: Record<string, unknown>): string | undefined {
  const base = docOf(reason)?.explanation;
  if (base && detail?.fallbackRefused === true)
    return `${base} The device came without a trusted certificate, and its credential last connected with a chain through that certificate, so it may not fall back to its password.`;
  return base;
}

/** What to do about a reason; undefined for an unknown code and for outcomes that need nothing. */
export function reasonFix(reason: string): string | undefined {
  const fix = docOf(reason)?.fix;
  return fix && fix !== '—' ? fix : undefined;
}

const cell = (t: string) => t.replace(/\|/g, '\\|');
const chainCodes = new Set<string>(Object.values(ChainReasons));

/** docs/reason-codes.md's table of the chain reasons (`chain`) or of the other connect reasons (`connect`). */
export function reasonTable(which: 'chain' | 'connect'): string {
  const codes = (Object.values(ConnectReasons) as ConnectReason[]).filter((c) => chainCodes.has(c) === (which === 'chain'));
  return ['| code | meaning | fix |', '| --- | --- | --- |', ...codes.map((c) => `| \`${c}\` | ${cell(ReasonRules[c])} | ${cell(ReasonDocs[c].fix)} |`)].join('\n');
}
