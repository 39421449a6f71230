// Settings of the audit service: where it stores, how long it keeps, how it consumes the audit stream.
import { authOutageGraceSetting, commonSettings, dbSetting, httpHostSetting, httpPortSetting, setting, type ConfigOf } from '@twoway/config';

export const DEFAULT_RETENTION_DAYS = 90;
export const DEFAULT_BATCH_SIZE = 500;
/** How long JetStream waits for our ack before redelivering; a batch commits well within it. */
export const DEFAULT_ACK_WAIT_MS = 30_000;

export const auditSettings = {
  ...commonSettings,
  dbUrl: dbSetting('audit', 'TWOWAY_DB_URL'),
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', 8083),
  httpHost: httpHostSetting,
  authOutageGraceMs: authOutageGraceSetting,
  retentionDays: setting({ env: 'TWOWAY_AUDIT_RETENTION_DAYS', kind: 'int', default: DEFAULT_RETENTION_DAYS, min: 1, doc: 'Audit events older than this many days are deleted from the store' }),
  batchSize: setting({ env: 'TWOWAY_AUDIT_BATCH_SIZE', kind: 'int', default: DEFAULT_BATCH_SIZE, min: 1, max: 1000, doc: 'Most audit events stored in one database transaction' }),
  ackWaitMs: setting({ env: 'TWOWAY_AUDIT_ACK_WAIT_MS', kind: 'int', default: DEFAULT_ACK_WAIT_MS, min: 1000, doc: 'JetStream ack wait of the audit-store consumer: an unacknowledged event is redelivered after it' }),
};

export type AuditConfig = ConfigOf<typeof auditSettings>;
