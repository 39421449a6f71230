// Settings of the account-settings service (accounts, settings, credentials, principals and tokens).
import { commonSettings, serveLimitSettings, dbSetting, httpHostSetting, httpPortSetting, outboxRetentionSetting, setting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';
import { DEFAULT_TOPIC_RULES_MAX, DEFAULT_TOPIC_RULE_FILTER_MAX_LENGTH, TOPIC_RULE_HARD_LIMITS } from './domain/topic-rules.js';

/** Credential verification: failures allowed per username and per source address inside the window. */
export const DEFAULT_CREDENTIAL_MAX_FAILURES = 10;
export const DEFAULT_CREDENTIAL_FAILURE_WINDOW_MS = 60_000;
export const DEFAULT_CREDENTIAL_LOCKOUT_MS = 60_000;
/** Failures of one username from all addresses together (a distributed guess) before RATE_LIMITED. */
export const DEFAULT_CREDENTIAL_MAX_FAILURES_PER_USERNAME = 100;
/**
 * Passwords verified recently, remembered as an HMAC so a device's next check costs no scrypt
 * (docs/limits.md): about 280 bytes each, some 27 MiB at the default bound.
 */
export const DEFAULT_VERIFIED_PASSWORD_CACHE_MAX = 100_000;
/**
 * A week: devices stay connected for days, and the storm that follows a broker restart is exactly when
 * their passwords were last verified long ago. The age limits only how long an HMAC sits in memory.
 */
export const DEFAULT_VERIFIED_PASSWORD_CACHE_TTL_MS = 7 * 24 * 3_600_000;

export const configSchema = {
  ...commonSettings,
  ...serveLimitSettings,
  dbUrl: dbSetting('account-settings', 'TWOWAY_DB_URL'),
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts['account-settings']),
  httpHost: httpHostSetting,
  outboxRetentionMs: outboxRetentionSetting,
  bootstrapToken: setting({
    env: 'TWOWAY_BOOTSTRAP_TOKEN',
    kind: 'string',
    optional: true,
    secret: true,
    doc: 'Provider-admin API token installed at first start; when unset one is generated into $TWOWAY_DATA_DIR/bootstrap-token (mode 0600)',
  }),
  providerName: setting({ env: 'TWOWAY_PROVIDER_NAME', kind: 'string', default: 'provider', doc: 'Name of the provider (root) account created at first start' }),
  credentialMaxFailures: setting({
    env: 'TWOWAY_CREDENTIAL_MAX_FAILURES',
    kind: 'int',
    default: DEFAULT_CREDENTIAL_MAX_FAILURES,
    min: 1,
    doc: 'Failed credential checks per username from one source address, and per source address, within the window before RATE_LIMITED',
  }),
  credentialMaxFailuresPerUsername: setting({
    env: 'TWOWAY_CREDENTIAL_MAX_FAILURES_PER_USERNAME',
    kind: 'int',
    default: DEFAULT_CREDENTIAL_MAX_FAILURES_PER_USERNAME,
    min: 1,
    doc: 'Failed credential checks per username from all addresses within the window before RATE_LIMITED (not applied to a device whose chain the broker verified)',
  }),
  credentialFailureWindowMs: setting({
    env: 'TWOWAY_CREDENTIAL_FAILURE_WINDOW_MS',
    kind: 'int',
    default: DEFAULT_CREDENTIAL_FAILURE_WINDOW_MS,
    min: 1,
    doc: 'Window in which failed credential checks are counted',
  }),
  credentialLockoutMs: setting({
    env: 'TWOWAY_CREDENTIAL_LOCKOUT_MS',
    kind: 'int',
    default: DEFAULT_CREDENTIAL_LOCKOUT_MS,
    min: 1,
    doc: 'How long a username, username and address, or source address answers RATE_LIMITED once its limit is reached',
  }),
  verifiedPasswordCacheMax: setting({
    env: 'TWOWAY_VERIFIED_PASSWORD_CACHE_MAX',
    kind: 'int',
    default: DEFAULT_VERIFIED_PASSWORD_CACHE_MAX,
    min: 0,
    doc: 'Credentials whose last verified password is remembered (an HMAC under a per-process random key, never the password) so their next check costs no scrypt; beyond it the least recently used leaves (0: none)',
  }),
  verifiedPasswordCacheTtlMs: setting({
    env: 'TWOWAY_VERIFIED_PASSWORD_CACHE_TTL_MS',
    kind: 'int',
    default: DEFAULT_VERIFIED_PASSWORD_CACHE_TTL_MS,
    min: 0,
    doc: 'How long after scrypt verified a password (or an operator set it) it is recognised without scrypt (0: always scrypt)',
  }),
  topicRulesMax: setting({
    env: 'TWOWAY_TOPIC_RULES_MAX',
    kind: 'int',
    default: DEFAULT_TOPIC_RULES_MAX,
    min: 0,
    max: TOPIC_RULE_HARD_LIMITS.maxRules,
    doc: `Topic rules an account may have; a longer list is refused TOPIC_RULES_INVALID (at most ${TOPIC_RULE_HARD_LIMITS.maxRules}; 0: topic rules cannot be set)`,
  }),
  topicRuleFilterMaxLength: setting({
    env: 'TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH',
    kind: 'int',
    default: DEFAULT_TOPIC_RULE_FILTER_MAX_LENGTH,
    min: 1,
    max: TOPIC_RULE_HARD_LIMITS.maxFilterLength,
    doc: `Longest topic filter of a topic rule, in characters; a longer one is refused TOPIC_RULES_INVALID (at most ${TOPIC_RULE_HARD_LIMITS.maxFilterLength})`,
  }),
};

export type AccountSettingsConfig = ConfigOf<typeof configSchema>;
