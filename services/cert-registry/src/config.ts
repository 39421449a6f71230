// Settings of the cert-registry process (TWOWAY_* variables; rows of the README's settings table).
import { authOutageGraceSetting, commonSettings, serveLimitSettings, dbSetting, httpHostSetting, httpPortSetting, outboxRetentionSetting, setting, type ConfigOf } from '@twoway/config';
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
  dryRunsPerMinute: setting({
    env: 'TWOWAY_DRY_RUNS_PER_MINUTE',
    kind: 'int',
    default: 30,
    min: 0,
    doc: 'Dry runs of the connect decision (POST /api/v1/accounts/{id}/dry-run) one API token may ask for per minute, per cert-registry replica; beyond it 429 RATE_LIMITED (0: none)',
  }),
};

export type CertRegistryConfig = ConfigOf<typeof certRegistrySettings>;
