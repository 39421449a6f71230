// Settings of the gateway: the one public HTTP origin (REST API and console).
import { commonSettings, httpHostSetting, httpPortSetting, setting, type ConfigOf } from '@twoway/config';
import { DefaultPorts } from '@twoway/contracts';

const upstream = (env: string, port: number, who: string) =>
  setting({ env, kind: 'url', default: `http://127.0.0.1:${port}`, doc: `Base URL of ${who}'s HTTP API` });

export const gatewaySchema = {
  logLevel: commonSettings.logLevel,
  otelEnabled: commonSettings.otelEnabled,
  httpPort: httpPortSetting('TWOWAY_HTTP_PORT', DefaultPorts.gateway),
  httpHost: httpHostSetting,
  accountSettingsUrl: upstream('TWOWAY_ACCOUNT_SETTINGS_URL', DefaultPorts['account-settings'], 'account-settings'),
  certRegistryUrl: upstream('TWOWAY_CERT_REGISTRY_URL', DefaultPorts['cert-registry'], 'cert-registry'),
  auditUrl: upstream('TWOWAY_AUDIT_URL', DefaultPorts.audit, 'audit'),
  consoleDir: setting({ env: 'TWOWAY_CONSOLE_DIR', kind: 'path', default: 'apps/console/dist', doc: 'Directory of the built web console served at /' }),
  upstreamTimeoutMs: setting({ env: 'TWOWAY_UPSTREAM_TIMEOUT_MS', kind: 'int', default: 30_000, min: 100, doc: 'Timeout of a proxied request (streams excepted)' }),
};
export type GatewayConfig = ConfigOf<typeof gatewaySchema>;
