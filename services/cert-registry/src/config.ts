// Settings of the cert-registry process (TWOWAY_* variables; rows of the README's settings table).
import { authOutageGraceSetting, commonSettings, serveLimitSettings, dbSetting, expiryWarningDaysSetting, httpHostSetting, httpPortSetting, outboxRetentionSetting, setting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';
import { DEFAULT_CRL_MAX_BYTES } from '@twoway/pki';

export const SERVICE_NAME = 'cert-registry';
/** File name of the default SQLite database under TWOWAY_DATA_DIR. */
export const DEFAULT_DB_FILE = 'cert-registry.sqlite';
/** How often the expiry scan runs (docs/operations.md, "Certificate expiry"). */
export const DEFAULT_EXPIRY_SCAN_INTERVAL_MS = 15 * 60 * 1000;

/** CRL distribution points are fetched this often (docs/limits.md "Revocation lists"). */
export const DEFAULT_CRL_FETCH_INTERVAL_MS = 3_600_000;
export const DEFAULT_CRL_FETCH_TIMEOUT_MS = 30_000;
/** Revoked-serial entries per CA: revoking by serial is for a few devices; an estate's bulk is its CRL. */
export const DEFAULT_REVOKED_SERIALS_MAX = 100_000;

export const certRegistrySettings = {
  ...commonSettings,
  ...serveLimitSettings,
  dbUrl: dbSetting(SERVICE_NAME, 'TWOWAY_DB_URL'),
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts['cert-registry']),
  httpHost: httpHostSetting,
  outboxRetentionMs: outboxRetentionSetting,
  authOutageGraceMs: authOutageGraceSetting,
  crlMaxBytes: setting({ env: 'TWOWAY_CRL_MAX_BYTES', kind: 'int', default: DEFAULT_CRL_MAX_BYTES, min: 1024, doc: 'Largest CRL accepted, uploaded or fetched (DER bytes; 100,000 entries take 3–5 MB); a larger one is refused (413 / fetch failure)' }),
  crlFetchIntervalMs: setting({ env: 'TWOWAY_CRL_FETCH_INTERVAL_MS', kind: 'int', default: DEFAULT_CRL_FETCH_INTERVAL_MS, min: 1000, doc: "How often a CA's CRL is fetched from its distribution point (sooner when its nextUpdate comes first); after a failure it is retried from 30 s, doubling up to this interval" }),
  crlFetchTimeoutMs: setting({ env: 'TWOWAY_CRL_FETCH_TIMEOUT_MS', kind: 'int', default: DEFAULT_CRL_FETCH_TIMEOUT_MS, min: 100, doc: 'Longest one CRL download may take, redirects and body included; then the fetch fails' }),
  revokedSerialsMax: setting({ env: 'TWOWAY_REVOKED_SERIALS_MAX', kind: 'int', default: DEFAULT_REVOKED_SERIALS_MAX, min: 1, doc: 'Revoked-serial entries (revoke by serial) per CA; beyond it REVOKED_SERIAL_LIMIT: upload a CRL instead' }),
  expiryWarningDays: expiryWarningDaysSetting,
  expiryScanIntervalMs: setting({
    env: 'TWOWAY_EXPIRY_SCAN_INTERVAL_MS',
    kind: 'int',
    default: DEFAULT_EXPIRY_SCAN_INTERVAL_MS,
    min: 1000,
    doc: 'How often cert-registry looks for registered certificates entering the expiry window or past their end (also at start); each is audited once, and the expiry gauges are refreshed',
  }),
  dryRunsPerMinute: setting({
    env: 'TWOWAY_DRY_RUNS_PER_MINUTE',
    kind: 'int',
    default: 30,
    min: 0,
    doc: 'Dry runs of the connect decision (POST /api/v1/accounts/{id}/dry-run) one API token may ask for per minute, per cert-registry replica; beyond it 429 RATE_LIMITED (0: none)',
  }),
};

export type CertRegistryConfig = ConfigOf<typeof certRegistrySettings>;
