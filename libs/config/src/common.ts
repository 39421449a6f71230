// Settings every service shares. A service spreads these into its own schema.
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
  natsRequestTimeoutMs: setting({ env: 'TWOWAY_NATS_REQUEST_TIMEOUT_MS', kind: 'int', default: 2000, min: 50, doc: 'Timeout of a NATS request to another service' }),
  otelEnabled: setting({ env: 'TWOWAY_OTEL_ENABLED', kind: 'bool', default: false, doc: 'Export traces and metrics with OpenTelemetry (OTLP endpoint from OTEL_EXPORTER_OTLP_ENDPOINT)' }),
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
