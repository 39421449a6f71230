// The broker's settings: every TWOWAY_* variable it reads, with its default and one line of doc.
import { hostname } from 'node:os';
import { commonSettings, httpHostSetting, httpPortSetting, setting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';

export const DEFAULT_MQTT_PORT = DefaultPorts.mqtts;
export const DEFAULT_CONNECT_DEADLINE_MS = 5_000;
export const DEFAULT_MAX_PENDING_PER_IP = 32;
export const DEFAULT_STALE_AFTER_MS = 10_000;
export const DEFAULT_CREDENTIAL_CACHE_TTL_MS = 300_000;
export const DEFAULT_AUDIT_QUEUE_MAX = 10_000;
/** 256 MiB: about half a million connect events. */
export const DEFAULT_AUDIT_SPILL_MAX_BYTES = 256 * 1024 * 1024;

export const brokerSettings = {
  ...commonSettings,
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts.broker),
  httpHost: httpHostSetting,
  mqttPort: setting({ env: 'TWOWAY_MQTT_PORT', kind: 'int', default: DEFAULT_MQTT_PORT, min: 0, max: 65535, doc: 'MQTT over TLS port (client certificate requested, not required)' }),
  mqttHost: setting({ env: 'TWOWAY_MQTT_HOST', kind: 'string', default: '0.0.0.0', doc: 'Address the MQTT listeners bind to' }),
  mqttPlainPort: setting({ env: 'TWOWAY_MQTT_PLAIN_PORT', kind: 'int', optional: true, min: 0, max: 65535, doc: 'Plain TCP MQTT port, development only (unset: no plain listener)' }),
  tlsCertFile: setting({ env: 'TWOWAY_TLS_CERT_FILE', kind: 'path', optional: true, doc: 'Server certificate PEM (may hold the chain); watched and reloaded without restart' }),
  tlsKeyFile: setting({ env: 'TWOWAY_TLS_KEY_FILE', kind: 'path', optional: true, doc: 'Server private key PEM; watched and reloaded without restart' }),
  connectDeadlineMs: setting({ env: 'TWOWAY_CONNECT_DEADLINE_MS', kind: 'int', default: DEFAULT_CONNECT_DEADLINE_MS, min: 100, doc: 'TLS handshake plus MQTT CONNECT decision must finish within this, else the socket is closed' }),
  maxPendingPerIp: setting({ env: 'TWOWAY_MAX_PENDING_PER_IP', kind: 'int', default: DEFAULT_MAX_PENDING_PER_IP, min: 1, doc: 'Unauthenticated sockets allowed at once per source address' }),
  staleAfterMs: setting({ env: 'TWOWAY_STALE_AFTER_MS', kind: 'int', default: DEFAULT_STALE_AFTER_MS, min: 0, doc: 'Without NATS for this long, caches are stale: new connects are refused (UNDECIDABLE) and readiness is false' }),
  credentialCacheTtlMs: setting({ env: 'TWOWAY_CREDENTIAL_CACHE_TTL_MS', kind: 'int', default: DEFAULT_CREDENTIAL_CACHE_TTL_MS, min: 0, doc: 'Longest a verified credential is reused without asking account-settings (bounds expiry drift)' }),
  auditQueueMax: setting({ env: 'TWOWAY_AUDIT_QUEUE_MAX', kind: 'int', default: DEFAULT_AUDIT_QUEUE_MAX, min: 1, doc: 'Audit events held in memory while NATS is slow; beyond it, and while NATS is away, they go to the spill file (without a spill: the oldest is dropped)' }),
  auditSpillMaxBytes: setting({ env: 'TWOWAY_AUDIT_SPILL_MAX_BYTES', kind: 'int', default: DEFAULT_AUDIT_SPILL_MAX_BYTES, min: 0, doc: 'Bound of the audit spill under $TWOWAY_DATA_DIR/audit-spill/ (replayed on start and when NATS is back); when full the oldest spilled events are dropped, counted and audited (0: no spill)' }),
  brokerId: setting({ env: 'TWOWAY_BROKER_ID', kind: 'string', optional: true, doc: 'This replica\'s id in audit events and across replicas (unset: hostname-pid)' }),
};

export type BrokerConfig = ConfigOf<typeof brokerSettings>;

/** Unique per process, stable for its lifetime: two replicas on one host still differ. */
export const defaultBrokerId = (): string => `${hostname()}-${process.pid}`;
