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
  // The gateway's port is the public origin: its metrics get a listener of their own, for the cluster.
  metricsPort: setting({ env: 'TWOWAY_METRICS_PORT', kind: 'int', optional: true, min: 0, max: 65535, doc: 'Port of the gateway\'s /metrics, a listener of its own on TWOWAY_HTTP_HOST so metrics stay off the public origin (unset: not served; 0: any free port)' }),
  accountSettingsUrl: upstream('TWOWAY_ACCOUNT_SETTINGS_URL', DefaultPorts['account-settings'], 'account-settings'),
  certRegistryUrl: upstream('TWOWAY_CERT_REGISTRY_URL', DefaultPorts['cert-registry'], 'cert-registry'),
  auditUrl: upstream('TWOWAY_AUDIT_URL', DefaultPorts.audit, 'audit'),
  consoleDir: setting({ env: 'TWOWAY_CONSOLE_DIR', kind: 'path', default: 'apps/console/dist', doc: 'Directory of the built web console served at /' }),
  upstreamTimeoutMs: setting({ env: 'TWOWAY_UPSTREAM_TIMEOUT_MS', kind: 'int', default: 30_000, min: 100, doc: 'Timeout of a proxied request (streams excepted)' }),
  // What GET /api/v1/connection-info tells operators about connecting devices. The brokers' own
  // listener settings are the defaults (`twoway up` gives every process the same environment).
  dataDir: commonSettings.dataDir,
  mqttPort: setting({ env: 'TWOWAY_MQTT_PORT', kind: 'int', default: DefaultPorts.mqtts, min: 0, max: 65535, doc: 'MQTT over TLS port' }),
  mqttWssPort: setting({ env: 'TWOWAY_MQTT_WSS_PORT', kind: 'int', optional: true, min: 0, max: 65535, doc: 'MQTT over secure WebSocket port' }),
  publicMqttHost: setting({ env: 'TWOWAY_PUBLIC_MQTT_HOST', kind: 'string', optional: true, doc: 'Host name devices connect to, a name in the broker\'s server certificate, shown in the console\'s "Connect a device" (unset: the host name the console was reached at)' }),
  publicMqttPort: setting({ env: 'TWOWAY_PUBLIC_MQTT_PORT', kind: 'int', optional: true, min: 1, max: 65535, doc: 'MQTT over TLS port devices connect to, e.g. the load balancer\'s (unset: TWOWAY_MQTT_PORT)' }),
  publicMqttWssPort: setting({ env: 'TWOWAY_PUBLIC_MQTT_WSS_PORT', kind: 'int', optional: true, min: 1, max: 65535, doc: 'MQTT over secure WebSocket port devices connect to (unset: TWOWAY_MQTT_WSS_PORT; neither set: no wss endpoint is shown)' }),
  serverCaFile: setting({ env: 'TWOWAY_SERVER_CA_FILE', kind: 'path', optional: true, doc: 'PEM of the CA that issued the broker\'s server certificate, which devices trust; offered as "Download server CA" (unset: $TWOWAY_DATA_DIR/pki/ca.pem, the dev PKI of twoway up, unless TWOWAY_TLS_CERT_FILE is set)' }),
  // Only to know that the brokers serve an operator's own certificate, whose CA the dev PKI is not.
  tlsCertFile: setting({ env: 'TWOWAY_TLS_CERT_FILE', kind: 'path', optional: true, doc: 'Server certificate PEM' }),
};
export type GatewayConfig = ConfigOf<typeof gatewaySchema>;
