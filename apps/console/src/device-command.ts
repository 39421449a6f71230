// The lines an operator copies to connect a device: one message published with mosquitto_pub, with
// Python and Eclipse Paho, and with the `mqtt` command of MQTT.js — each complete in itself, to paste on
// a machine that has only the device's files — and the settings the device examples read
// (examples/devices/, MQTT_* variables), from one description of the device so all name the same
// files, credential and broker address.

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

/** The line that puts the password where the commands below read it; the operator types the password in. */
export const PASSWORD_LINE = "export MQTT_PASSWORD='…the credential’s password…'";

/** What each command publishes, so a subscriber tells them apart. */
export const EXAMPLE_MESSAGES = { mosquitto: 'hello from a device', paho: 'hello from Python', mqttJs: 'hello from MQTT.js' } as const;

/** The password stays out of the command: the device's shell has it in $MQTT_PASSWORD. */
export function mosquittoPub(d: DeviceSetup): string {
  const q = shellQuote;
  return [
    `mosquitto_pub -h ${q(d.host)} -p ${d.port} --cafile ${q(d.caFile)}`,
    d.certFile && d.keyFile ? ` --cert ${q(d.certFile)} --key ${q(d.keyFile)}` : '',
    ` -i ${q(d.clientId)} -u ${q(d.username)} -P "$MQTT_PASSWORD" -t ${q(d.topic)} -m ${q(EXAMPLE_MESSAGES.mosquitto)} -d`,
  ].join('');
}

/**
 * The `mqtt` command of the MQTT.js package, through npx (which fetches the package the first time).
 * `-C mqtts` also where no client certificate is given: without a key and certificate the command
 * would otherwise speak plain MQTT. QoS 1, so it ends only after the broker has the message.
 */
export function mqttJsPub(d: DeviceSetup): string {
  const q = shellQuote;
  return [
    `npx --yes mqtt@5 pub -C mqtts -h ${q(d.host)} -p ${d.port} --ca ${q(d.caFile)}`,
    d.certFile && d.keyFile ? ` --cert ${q(d.certFile)} --key ${q(d.keyFile)}` : '',
    ` -i ${q(d.clientId)} -u ${q(d.username)} -P "$MQTT_PASSWORD" -q 1 -t ${q(d.topic)} -m ${q(EXAMPLE_MESSAGES.mqttJs)}`,
  ].join('');
}

/** A Python string literal: JSON's escapes are Python's too. */
const py = (s: string): string => JSON.stringify(s);

/**
 * A Python program in a here-document (quoted: the shell expands nothing in it) that publishes one
 * message with Eclipse Paho, 1.6 or 2.x, and exits non-zero with the broker's answer when refused.
 * TLS as the device examples set it up: 1.2 or newer, the broker's name checked.
 */
export function pahoScript(d: DeviceSetup): string {
  return [
    "python3 - <<'EOF'",
    '# One message with Eclipse Paho (paho-mqtt 1.6 or 2.x); the password is read from $MQTT_PASSWORD.',
    'import os, ssl, sys',
    'import paho.mqtt.client as mqtt',
    `tls = ssl.create_default_context(cafile=${py(d.caFile)})`,
    'tls.minimum_version = ssl.TLSVersion.TLSv1_2',
    ...(d.certFile && d.keyFile ? [`tls.load_cert_chain(certfile=${py(d.certFile)}, keyfile=${py(d.keyFile)})`] : []),
    'v2 = {"callback_api_version": mqtt.CallbackAPIVersion.VERSION2} if hasattr(mqtt, "CallbackAPIVersion") else {}',
    `client = mqtt.Client(client_id=${py(d.clientId)}, protocol=mqtt.MQTTv311, **v2)`,
    'client.tls_set_context(tls)',
    `client.username_pw_set(${py(d.username)}, os.environ["MQTT_PASSWORD"])`,
    'refused = []',
    'def on_connect(c, userdata, flags, rc, *rest):',
    '    if rc != 0:',
    '        refused.append(mqtt.connack_string(rc) if isinstance(rc, int) else str(rc))',
    '        c.disconnect()',
    '    else:',
    `        c.publish(${py(d.topic)}, ${py(EXAMPLE_MESSAGES.paho)}, qos=1)`,
    'def on_publish(c, userdata, mid, *rest):',
    `    print("published to " + ${py(d.topic)})`,
    '    c.disconnect()',
    'client.on_connect, client.on_publish = on_connect, on_publish',
    `client.connect(${py(d.host)}, ${d.port})`,
    'client.loop_forever()',
    'sys.exit("refused: " + refused[0] if refused else None)',
    'EOF',
  ].join('\n');
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
