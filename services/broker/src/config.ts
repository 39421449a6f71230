// The broker's settings: every TWOWAY_* variable it reads, with its default and one line of doc.
import { hostname } from 'node:os';
import { commonSettings, expiryWarningDaysSetting, httpHostSetting, httpPortSetting, setting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';
import { PkiCacheDefaults } from '@twoway/pki';
import { WSS_PATH } from './tls/websocket.js';
import { DEFAULT_TOPIC_DENIALS_AUDITED_PER_MINUTE } from './topic-rules/denials.js';

export const DEFAULT_MQTT_PORT = DefaultPorts.mqtts;
export const DEFAULT_CONNECT_DEADLINE_MS = 5_000;
export const DEFAULT_MAX_PENDING_PER_IP = 256;
export const DEFAULT_MAX_PENDING = 10_000;
/** Bytes of MQTT before a CONNECT is decided (the CONNECT included), and the largest packet after. */
export const DEFAULT_MQTT_MAX_CONNECT_BYTES = 64 * 1024;
export const DEFAULT_MQTT_MAX_PACKET_BYTES = 256 * 1024;
export const DEFAULT_STALE_AFTER_MS = 10_000;
export const DEFAULT_CREDENTIAL_CACHE_TTL_MS = 300_000;
export const DEFAULT_AUDIT_QUEUE_MAX = 10_000;
export const DEFAULT_DRAIN_WINDOW_MS = 20_000;
/** Offline queue of one persistent session (docs/broker.md "Persistent sessions"). */
export const DEFAULT_MQTT_QUEUE_MAX_MESSAGES = 1_000;
export const DEFAULT_MQTT_QUEUE_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MQTT_QUEUE_EXPIRY_MS = 24 * 3600 * 1000;
/** Cache bounds, in entries (docs/limits.md): at the bound the least recently used entry leaves. */
export const DEFAULT_CREDENTIAL_CACHE_MAX = 200_000;
export const DEFAULT_SETTINGS_CACHE_MAX = 100_000;
export const DEFAULT_TRUST_SETS_CACHE_MAX = 10_000;
export const DEFAULT_TRUST_PARSED_CACHE_MAX = 100_000;
/** Revoked-serial lists, one per CA with a CRL or revoked-serial entries (each may hold 100,000s of serials). */
export const DEFAULT_REVOCATION_LISTS_CACHE_MAX = 1_000;
/** Device certificates near their end: audited at most once a day each, 100,000 remembered (docs/limits.md). */
export const DEFAULT_EXPIRY_AUDIT_INTERVAL_MS = 24 * 3600 * 1000;
export const DEFAULT_EXPIRY_AUDITED_MAX = 100_000;
/** 256 MiB: about half a million connect events. */
export const DEFAULT_AUDIT_SPILL_MAX_BYTES = 256 * 1024 * 1024;

export const brokerSettings = {
  ...commonSettings,
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts.broker),
  httpHost: httpHostSetting,
  mqttPort: setting({ env: 'TWOWAY_MQTT_PORT', kind: 'int', default: DEFAULT_MQTT_PORT, min: 0, max: 65535, doc: 'MQTT over TLS port (client certificate requested, not required)' }),
  mqttHost: setting({ env: 'TWOWAY_MQTT_HOST', kind: 'string', default: '0.0.0.0', doc: 'Address the MQTT listeners bind to' }),
  mqttWssPort: setting({ env: 'TWOWAY_MQTT_WSS_PORT', kind: 'int', optional: true, min: 0, max: 65535, doc: `MQTT over secure WebSocket port, path ${WSS_PATH}, subprotocol mqtt; same TLS, client certificate request and connect decision as the MQTT/TLS port (unset: no wss listener; ${DefaultPorts.mqttWss} is customary)` }),
  mqttPlainPort: setting({ env: 'TWOWAY_MQTT_PLAIN_PORT', kind: 'int', optional: true, min: 0, max: 65535, doc: 'Plain TCP MQTT port, development only (unset: no plain listener)' }),
  tlsCertFile: setting({ env: 'TWOWAY_TLS_CERT_FILE', kind: 'path', optional: true, doc: 'Server certificate PEM (may hold the chain); watched and reloaded without restart' }),
  tlsKeyFile: setting({ env: 'TWOWAY_TLS_KEY_FILE', kind: 'path', optional: true, doc: 'Server private key PEM; watched and reloaded without restart' }),
  connectDeadlineMs: setting({ env: 'TWOWAY_CONNECT_DEADLINE_MS', kind: 'int', default: DEFAULT_CONNECT_DEADLINE_MS, min: 100, doc: 'TLS handshake plus MQTT CONNECT decision must finish within this, else the socket is closed' }),
  maxPendingPerIp: setting({ env: 'TWOWAY_MAX_PENDING_PER_IP', kind: 'int', default: DEFAULT_MAX_PENDING_PER_IP, min: 1, doc: 'Unauthenticated sockets at once per source address; beyond it that address\'s oldest is closed to admit the newcomer' }),
  maxPending: setting({ env: 'TWOWAY_MAX_PENDING', kind: 'int', default: DEFAULT_MAX_PENDING, min: 1, doc: 'Unauthenticated sockets at once from all addresses; beyond it the oldest of the address holding the most is closed' }),
  mqttMaxConnectBytes: setting({ env: 'TWOWAY_MQTT_MAX_CONNECT_BYTES', kind: 'int', default: DEFAULT_MQTT_MAX_CONNECT_BYTES, min: 256, doc: 'MQTT bytes a socket may send before its CONNECT is decided (CONNECT included); beyond it the socket is closed' }),
  mqttMaxPacketBytes: setting({ env: 'TWOWAY_MQTT_MAX_PACKET_BYTES', kind: 'int', default: DEFAULT_MQTT_MAX_PACKET_BYTES, min: 256, max: 268_435_460, doc: 'Largest MQTT packet (fixed header included) after CONNECT; a larger one closes the socket' }),
  staleAfterMs: setting({ env: 'TWOWAY_STALE_AFTER_MS', kind: 'int', default: DEFAULT_STALE_AFTER_MS, min: 0, doc: 'Without NATS for this long, caches are stale: new connects are refused (UNDECIDABLE) and readiness is false' }),
  credentialCacheTtlMs: setting({ env: 'TWOWAY_CREDENTIAL_CACHE_TTL_MS', kind: 'int', default: DEFAULT_CREDENTIAL_CACHE_TTL_MS, min: 0, doc: 'Longest a verified credential is reused without asking account-settings (bounds expiry drift)' }),
  credentialCacheMax: setting({ env: 'TWOWAY_CREDENTIAL_CACHE_MAX', kind: 'int', default: DEFAULT_CREDENTIAL_CACHE_MAX, min: 0, doc: 'Verified credentials kept; beyond it the least recently used leaves (0: no caching)' }),
  settingsCacheMax: setting({ env: 'TWOWAY_SETTINGS_CACHE_MAX', kind: 'int', default: DEFAULT_SETTINGS_CACHE_MAX, min: 0, doc: 'Accounts whose settings and ancestry are kept; beyond it the least recently used leaves' }),
  trustSetsCacheMax: setting({ env: 'TWOWAY_TRUST_SETS_CACHE_MAX', kind: 'int', default: DEFAULT_TRUST_SETS_CACHE_MAX, min: 0, doc: 'Indexed trust sets (one per account ancestry) kept; beyond it the least recently used leaves' }),
  trustParsedCacheMax: setting({ env: 'TWOWAY_TRUST_PARSED_CACHE_MAX', kind: 'int', default: DEFAULT_TRUST_PARSED_CACHE_MAX, min: 0, doc: 'Parsed registered certificates kept across trust-set rebuilds; beyond it the least recently used leaves' }),
  revocationListsCacheMax: setting({ env: 'TWOWAY_REVOCATION_LISTS_CACHE_MAX', kind: 'int', default: DEFAULT_REVOCATION_LISTS_CACHE_MAX, min: 0, doc: 'Revoked-serial lists (a CA\'s CRL entries and revoked serials, one per CA) kept across trust-set rebuilds; beyond it the least recently used leaves and is fetched again when needed' }),
  certParseCacheMax: setting({ env: 'TWOWAY_CERT_PARSE_CACHE_MAX', kind: 'int', default: PkiCacheDefaults.parsedCertificates, min: 0, doc: 'Presented certificates kept parsed (by fingerprint); beyond it the least recently used leaves' }),
  certFactsCacheMax: setting({ env: 'TWOWAY_CERT_FACTS_CACHE_MAX', kind: 'int', default: PkiCacheDefaults.certFacts, min: 0, doc: 'Decoded certificate facts kept for the chain validator; beyond it the least recently used leave' }),
  signatureCacheMax: setting({ env: 'TWOWAY_SIGNATURE_CACHE_MAX', kind: 'int', default: PkiCacheDefaults.signatures, min: 0, doc: 'Signature checks (certificate, issuer) remembered by the chain validator; beyond it the least recently used leave' }),
  auditQueueMax: setting({ env: 'TWOWAY_AUDIT_QUEUE_MAX', kind: 'int', default: DEFAULT_AUDIT_QUEUE_MAX, min: 1, doc: 'Audit events held in memory while NATS is slow; beyond it, and while NATS is away, they go to the spill file (without a spill: the oldest is dropped)' }),
  auditSpillMaxBytes: setting({ env: 'TWOWAY_AUDIT_SPILL_MAX_BYTES', kind: 'int', default: DEFAULT_AUDIT_SPILL_MAX_BYTES, min: 0, doc: 'Bound of the audit spill under $TWOWAY_DATA_DIR/audit-spill/ (replayed on start and when NATS is back); when full the oldest spilled events are dropped, counted and audited (0: no spill)' }),
  mqttQueueMaxMessages: setting({ env: 'TWOWAY_MQTT_QUEUE_MAX_MESSAGES', kind: 'int', default: DEFAULT_MQTT_QUEUE_MAX_MESSAGES, min: 1, doc: 'QoS 1/2 messages queued for one persistent session (offline or unacknowledged); beyond it the newest is dropped, counted and audited' }),
  mqttQueueMaxBytes: setting({ env: 'TWOWAY_MQTT_QUEUE_MAX_BYTES', kind: 'int', default: DEFAULT_MQTT_QUEUE_MAX_BYTES, min: 1024, doc: 'Largest message queued for a persistent session (a session holds at most TWOWAY_MQTT_QUEUE_MAX_MESSAGES of them); a larger one is dropped for queued delivery, counted and audited' }),
  mqttQueueExpiryMs: setting({ env: 'TWOWAY_MQTT_QUEUE_EXPIRY_MS', kind: 'int', default: DEFAULT_MQTT_QUEUE_EXPIRY_MS, min: 1000, doc: 'A queued message older than this is dropped instead of delivered, counted and audited' }),
  drainWindowMs: setting({ env: 'TWOWAY_DRAIN_WINDOW_MS', kind: 'int', default: DEFAULT_DRAIN_WINDOW_MS, min: 0, doc: 'On SIGTERM, live sessions are ended gradually over this window (after accepting stops), so a rolling restart is not a reconnect storm' }),
  expiryWarningDays: expiryWarningDaysSetting,
  expiryAuditIntervalMs: setting({ env: 'TWOWAY_EXPIRY_AUDIT_INTERVAL_MS', kind: 'int', default: DEFAULT_EXPIRY_AUDIT_INTERVAL_MS, min: 1000, doc: 'A device certificate (leaf or intermediate) seen expiring at connect is audited (device.cert_expiring) at most once per this interval by each broker; the connects in between are only counted' }),
  expiryAuditedMax: setting({ env: 'TWOWAY_EXPIRY_AUDITED_MAX', kind: 'int', default: DEFAULT_EXPIRY_AUDITED_MAX, min: 1, doc: 'Expiring device certificates whose last audit a broker remembers (by fingerprint); beyond it the one seen least recently is forgotten, counted, and may be audited again before its interval' }),
  topicDenialsAuditedPerMinute: setting({ env: 'TWOWAY_TOPIC_DENIALS_AUDITED_PER_MINUTE', kind: 'int', default: DEFAULT_TOPIC_DENIALS_AUDITED_PER_MINUTE, min: 0, doc: 'Topic-rule denials audited per session and minute (session.topic_denied); beyond it they are only counted, and the next audited one says how many (0: none audited)' }),
  brokerId: setting({ env: 'TWOWAY_BROKER_ID', kind: 'string', optional: true, doc: 'This replica\'s id in audit events and across replicas (unset: hostname-pid)' }),
};

export type BrokerConfig = ConfigOf<typeof brokerSettings>;

/** Unique per process, stable for its lifetime: two replicas on one host still differ. */
export const defaultBrokerId = (): string => `${hostname()}-${process.pid}`;
