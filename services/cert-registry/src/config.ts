// Settings of the cert-registry process (TWOWAY_* variables; rows of the README's settings table).
import { authOutageGraceSetting, commonSettings, serveLimitSettings, dbSetting, expiryWarningDaysSetting, httpHostSetting, httpPortSetting, outboxRetentionSetting, setting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';

export const SERVICE_NAME = 'cert-registry';
/** File name of the default SQLite database under TWOWAY_DATA_DIR. */
export const DEFAULT_DB_FILE = 'cert-registry.sqlite';
/** How often the expiry scan runs (docs/operations.md, "Certificate expiry"). */
export const DEFAULT_EXPIRY_SCAN_INTERVAL_MS = 15 * 60 * 1000;

export const certRegistrySettings = {
  ...commonSettings,
  ...serveLimitSettings,
  dbUrl: dbSetting(SERVICE_NAME, 'TWOWAY_DB_URL'),
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts['cert-registry']),
  httpHost: httpHostSetting,
  outboxRetentionMs: outboxRetentionSetting,
  authOutageGraceMs: authOutageGraceSetting,
  expiryWarningDays: expiryWarningDaysSetting,
  expiryScanIntervalMs: setting({
    env: 'TWOWAY_EXPIRY_SCAN_INTERVAL_MS',
    kind: 'int',
    default: DEFAULT_EXPIRY_SCAN_INTERVAL_MS,
    min: 1000,
    doc: 'How often cert-registry looks for registered certificates entering the expiry window or past their end (also at start); each is audited once, and the expiry gauges are refreshed',
  }),
};

export type CertRegistryConfig = ConfigOf<typeof certRegistrySettings>;
