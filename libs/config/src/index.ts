// @twoway/config: schema-driven loading of TWOWAY_* settings.
export { loadConfig, describe, setting, ConfigError } from './schema.js';
export type { Setting, Schema, ConfigOf } from './schema.js';
export {
  commonSettings, serveLimitSettings, DEFAULT_NATS_MAX_CONCURRENT, DEFAULT_NATS_MAX_QUEUED, dbSetting, httpPortSetting, httpHostSetting, DEFAULT_NATS_URL, DEFAULT_NATS_REPLICAS, DEFAULT_DATA_DIR,
  outboxRetentionSetting, DEFAULT_OUTBOX_RETENTION_MS, authOutageGraceSetting, DEFAULT_AUTH_OUTAGE_GRACE_MS, expiryWarningDaysSetting,
} from './common.js';
