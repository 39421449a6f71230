// @twoway/config: schema-driven loading of TWOWAY_* settings.
export { loadConfig, describe, setting, ConfigError } from './schema.js';
export type { Setting, Schema, ConfigOf } from './schema.js';
export { commonSettings, dbSetting, httpPortSetting, httpHostSetting, DEFAULT_NATS_URL, DEFAULT_NATS_REPLICAS, DEFAULT_DATA_DIR } from './common.js';
