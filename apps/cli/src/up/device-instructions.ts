// How to connect the demo device, as `twoway up` prints it: a one-off mosquitto_pub line, and the
// settings file the device examples (examples/devices/) read, so both name the same files, credential
// and broker address.
import { chmod, writeFile } from 'node:fs/promises';

export const DEMO_TOPIC = 'demo/hello';

export interface DemoDevice {
  host: string;
  port: number;
  caFile: string;
  certFile: string;
  keyFile: string;
  username: string;
  passwordFile: string;
  clientId: string;
  topic: string;
}

/** One shell word: single-quoted, a quote inside closed, escaped and reopened. */
export const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/**
 * The examples' settings as `KEY=value` lines, read with `set -a; . device.env; set +a`. Holds the
 * password itself (the examples take it from MQTT_PASSWORD), hence mode 0600 like device.password.
 */
export function deviceEnv(d: DemoDevice, password: string): string {
  const vars: [string, string][] = [
    ['MQTT_HOST', d.host],
    ['MQTT_PORT', String(d.port)],
    ['MQTT_CA_FILE', d.caFile],
    ['MQTT_CERT_FILE', d.certFile],
    ['MQTT_KEY_FILE', d.keyFile],
    ['MQTT_USERNAME', d.username],
    ['MQTT_PASSWORD', password],
    ['MQTT_CLIENT_ID', d.clientId],
    ['MQTT_TOPIC', d.topic],
  ];
  return [
    '# The demo device of `twoway up`, for the examples in examples/devices/ (rewritten at every start).',
    '# Load it with: set -a; . THIS_FILE; set +a',
    ...vars.map(([k, v]) => `${k}=${shellQuote(v)}`),
    '',
  ].join('\n');
}

export async function writeDeviceEnv(file: string, d: DemoDevice, password: string): Promise<void> {
  await writeFile(file, deviceEnv(d, password), { mode: 0o600 });
  await chmod(file, 0o600); // the mode above applies only to a new file
}

/**
 * The lines `twoway up` prints under the demo account. `rel` shortens a path under the working
 * directory; `examplesDir` is examples/devices/ of this checkout.
 */
export function connectInstructions(d: DemoDevice, envFile: string, examplesDir: string, rel: (file: string) => string): string[] {
  const q = (file: string) => shellQuote(rel(file));
  const example = (path: string) => q(`${examplesDir}/${path}`);
  return [
    'Connect the demo device (its certificate chain, key and credential) and publish:',
    '',
    `  mosquitto_pub -h ${d.host} -p ${d.port} --cafile ${q(d.caFile)} --cert ${q(d.certFile)} --key ${q(d.keyFile)} ` +
      `-i ${shellQuote(d.clientId)} -u ${shellQuote(d.username)} -P "$(cat ${q(d.passwordFile)})" -t ${shellQuote(d.topic)} -m 'hello from a device' -d`,
    '',
    `  (subscribe with mosquitto_sub and the same options, -t 'demo/#')`,
    '',
    `Run a device that subscribes, publishes and reconnects with backoff (${rel(`${examplesDir}/README.md`)}):`,
    '',
    `  set -a; . ${q(envFile)}; set +a`,
    `  ${example('mosquitto/device.sh')}    # or: python3 ${example('python-paho/device.py')}, node ${example('mqttjs/device.mjs')}`,
  ];
}
