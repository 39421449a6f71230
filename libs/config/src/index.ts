// @twoway/config: schema-driven loading of TWOWAY_* settings.
export { loadConfig, describe, setting, ConfigError } from './schema.js';
export type { Setting, Schema, ConfigOf } from './schema.js';
export { commonSettings, serveLimitSettings, DEFAULT_NATS_MAX_CONCURRENT, DEFAULT_NATS_MAX_QUEUED, dbSetting, httpPortSetting, httpHostSetting, DEFAULT_NATS_URL, DEFAULT_DATA_DIR } from './common.js';
