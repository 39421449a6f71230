// Settings of the cert-registry process (TWOWAY_* variables; rows of the README's settings table).
import { authOutageGraceSetting, commonSettings, serveLimitSettings, dbSetting, httpHostSetting, httpPortSetting, outboxRetentionSetting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';

export const SERVICE_NAME = 'cert-registry';
/** File name of the default SQLite database under TWOWAY_DATA_DIR. */
export const DEFAULT_DB_FILE = 'cert-registry.sqlite';

export const certRegistrySettings = {
  ...commonSettings,
  ...serveLimitSettings,
  dbUrl: dbSetting(SERVICE_NAME, 'TWOWAY_DB_URL'),
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts['cert-registry']),
  httpHost: httpHostSetting,
  outboxRetentionMs: outboxRetentionSetting,
  authOutageGraceMs: authOutageGraceSetting,
};

export type CertRegistryConfig = ConfigOf<typeof certRegistrySettings>;
