// The lines an operator copies to connect a device: a one-off mosquitto_pub and the settings the
// device examples read (examples/devices/, MQTT_* variables), from one description of the device so
// both name the same files, credential and broker address.

/** One shell word: kept as it is when safe, else single-quoted (a quote inside closed, escaped, reopened). */
export const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

export interface DeviceSetup {
  host: string;
  port: number;
  /** The server CA the device trusts (the "Download server CA" file). */
  caFile: string;
  /** Its certificate chain and key, when the account uses mutual TLS. */
  certFile?: string;
  keyFile?: string;
  username: string;
  clientId: string;
  topic: string;
}

/** The file names the console suggests: the download's, and what the examples' READMEs call the device's files. */
export const DEVICE_FILES = { ca: 'twoway-server-ca.pem', chain: 'device-chain.pem', key: 'device.key' } as const;

/** The password stays out of the command: the device's shell has it in $MQTT_PASSWORD. */
export function mosquittoPub(d: DeviceSetup): string {
  const q = shellQuote;
  return [
    `mosquitto_pub -h ${q(d.host)} -p ${d.port} --cafile ${q(d.caFile)}`,
    d.certFile && d.keyFile ? ` --cert ${q(d.certFile)} --key ${q(d.keyFile)}` : '',
    ` -i ${q(d.clientId)} -u ${q(d.username)} -P "$MQTT_PASSWORD" -t ${q(d.topic)} -m 'hello from a device' -d`,
  ].join('');
}

/** `KEY=value` lines for the device examples (load with `set -a; . device.env; set +a`). */
export function deviceEnv(d: DeviceSetup): string {
  const vars: [string, string][] = [
    ['MQTT_HOST', d.host],
    ['MQTT_PORT', String(d.port)],
    ['MQTT_CA_FILE', d.caFile],
    ...(d.certFile && d.keyFile ? ([['MQTT_CERT_FILE', d.certFile], ['MQTT_KEY_FILE', d.keyFile]] as [string, string][]) : []),
    ['MQTT_USERNAME', d.username],
    ['MQTT_PASSWORD', '…its password…'],
    ['MQTT_CLIENT_ID', d.clientId],
    ['MQTT_TOPIC', d.topic],
  ];
  return vars.map(([k, v]) => `${k}=${shellQuote(v)}`).join('\n');
}
