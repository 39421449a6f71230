// Settings every service shares. A service spreads these into its own schema.
import { DEFAULT_EXPIRY_WARNING_DAYS, MAX_EXPIRY_WINDOW_DAYS } from '@twoway/contracts';
import { setting } from './schema.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_DATA_DIR = './data';
/** One copy: the embedded single nats-server. A 3-node cluster (production) sets 3. */
export const DEFAULT_NATS_REPLICAS = 1;

export const commonSettings = {
  natsUrl: setting({ env: 'TWOWAY_NATS_URL', kind: 'string', default: DEFAULT_NATS_URL, doc: 'NATS server URL(s), comma-separated' }),
  natsReplicas: setting({
    env: 'TWOWAY_NATS_REPLICAS', kind: 'int', default: DEFAULT_NATS_REPLICAS, min: 1, max: 5,
    doc: 'JetStream replicas of every stream and KV bucket a service creates (3 on a 3-node NATS cluster); raised at start when higher, never lowered',
  }),
  dataDir: setting({ env: 'TWOWAY_DATA_DIR', kind: 'path', default: DEFAULT_DATA_DIR, doc: 'Directory for SQLite files, the dev PKI and NATS storage' }),
  logLevel: setting({ env: 'TWOWAY_LOG_LEVEL', kind: 'string', default: 'info', doc: 'pino log level (trace, debug, info, warn, error)' }),
  natsStartTimeoutMs: setting({
    env: 'TWOWAY_NATS_START_TIMEOUT_MS', kind: 'int', default: 60_000, min: 0,
    doc: 'At start, how long a service waits for JetStream to answer (a cluster forming, a leader being elected) before it exits',
  }),
  natsRequestTimeoutMs: setting({ env: 'TWOWAY_NATS_REQUEST_TIMEOUT_MS', kind: 'int', default: 2000, min: 50, doc: 'Timeout of a NATS request to another service' }),
  otelEnabled: setting({ env: 'TWOWAY_OTEL_ENABLED', kind: 'bool', default: false, doc: 'Export traces and metrics with OpenTelemetry (OTLP endpoint from OTEL_EXPORTER_OTLP_ENDPOINT)' }),
};

/** Requests a service answers over NATS at once and waiting, per subject (docs/limits.md). */
export const DEFAULT_NATS_MAX_CONCURRENT = 32;
export const DEFAULT_NATS_MAX_QUEUED = 256;
/** Settings of a service that answers NATS requests: beyond these a request is answered OVERLOADED at once. */
export const serveLimitSettings = {
  natsMaxConcurrent: setting({ env: 'TWOWAY_NATS_MAX_CONCURRENT', kind: 'int', default: DEFAULT_NATS_MAX_CONCURRENT, min: 1, doc: 'NATS requests handled at once per subject; more wait in the queue' }),
  natsMaxQueued: setting({ env: 'TWOWAY_NATS_MAX_QUEUED', kind: 'int', default: DEFAULT_NATS_MAX_QUEUED, min: 0, doc: 'NATS requests waiting per subject; beyond it (or after waiting a request timeout) the reply is OVERLOADED at once' }),
};

/** Settings of a service that owns a database and serves HTTP. */
export const dbSetting = (service: string, envName: string) =>
  setting({
    env: envName,
    kind: 'string',
    optional: true,
    doc: `This service's own database: sqlite:PATH or postgres://user:pass@host/db (default: a SQLite file under TWOWAY_DATA_DIR, e.g. ${service}.sqlite)`,
  });
export const httpPortSetting = (envName: string, port: number) =>
  setting({ env: envName, kind: 'int', default: port, min: 0, max: 65535, doc: 'HTTP port (API, health, readiness)' });
export const httpHostSetting = setting({ env: 'TWOWAY_HTTP_HOST', kind: 'string', default: '127.0.0.1', doc: 'Address the HTTP listeners bind to (0.0.0.0 in containers)' });

/** Published outbox rows are kept this long, then pruned (services with a transactional outbox). */
export const DEFAULT_OUTBOX_RETENTION_MS = 24 * 3600 * 1000;
export const outboxRetentionSetting = setting({
  env: 'TWOWAY_OUTBOX_RETENTION_MS',
  kind: 'int',
  default: DEFAULT_OUTBOX_RETENTION_MS,
  min: 0,
  doc: 'Published outbox rows older than this are deleted in batches of 1000 every minute (0: keep them); unpublished rows are never deleted',
});

/** How long a token verified before an outage of account-settings (or NATS) keeps being honoured. */
export const DEFAULT_AUTH_OUTAGE_GRACE_MS = 15 * 60 * 1000;
export const authOutageGraceSetting = setting({
  env: 'TWOWAY_AUTH_OUTAGE_GRACE_MS',
  kind: 'int',
  default: DEFAULT_AUTH_OUTAGE_GRACE_MS,
  min: 0,
  doc: 'While account-settings cannot be asked (NATS or it away), a token verified less than this long ago is still accepted (0: refuse with 503)',
});

/** Days before a certificate's notAfter from which it counts as expiring (cert-registry and the broker). */
export const expiryWarningDaysSetting = setting({
  env: 'TWOWAY_EXPIRY_WARNING_DAYS',
  kind: 'int',
  default: DEFAULT_EXPIRY_WARNING_DAYS,
  min: 1,
  max: MAX_EXPIRY_WINDOW_DAYS,
  doc: 'A certificate is expiring once its notAfter is at most this many days away: registered ones are audited (cert.expiring, then cert.expired) and counted, device certificates seen at connect are audited (device.cert_expiring) and counted',
});
