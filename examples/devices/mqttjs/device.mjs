#!/usr/bin/env node
// A twoway device in Node.js with the `mqtt` package (v5).
//
// It presents its certificate chain and key, sends its MQTT username and password, checks the broker's
// certificate against the server CA (host name included), subscribes to MQTT_TOPIC and publishes to it
// once subscribed and then every MQTT_PUBLISH_INTERVAL_MS, so it receives its own messages. When the
// connection is refused or drops it says why (the CONNACK return code and what it means) and tries again
// after an exponential backoff with jitter, capped at MQTT_BACKOFF_MAX_MS.
//
//   MQTT_CA_FILE=... MQTT_CERT_FILE=... MQTT_KEY_FILE=... MQTT_USERNAME=... MQTT_PASSWORD=... node device.mjs
//
// Every setting is an environment variable; see README.md next to this file.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

// MQTT 3.1.1 §3.2.2.3: a refusal can only say one of these; twoway puts the precise reason in the
// account's audit trail (`twoway audit --client-id ID --explain`).
const CONNACK_MEANING = {
  0: 'connection accepted',
  1: 'unacceptable protocol version: use MQTT 3.1.1',
  2: 'identifier rejected: the client id is not allowed',
  3: 'server unavailable',
  4: 'bad user name or password: check MQTT_USERNAME and MQTT_PASSWORD; the credential may also be disabled or expired',
  5:
    'not authorized: the certificate chain was not accepted for this account (none sent, not registered,' +
    ' suspended or revoked) or there were too many failed attempts; the audit trail has the exact reason',
};

const log = (line) => console.log(line);

function fail(message) {
  log(`error: ${message}`);
  process.exit(2);
}

const mqtt = await import('mqtt').then(
  (m) => m.default,
  () => fail("the 'mqtt' package is not installed: run `npm install` next to package.json"),
);

function setting(name, fallback, { required = false } = {}) {
  const value = process.env[name];
  if (value) return value;
  if (required) fail(`${name} is not set (see README.md)`);
  return fallback;
}

function milliseconds(name, fallback) {
  const raw = setting(name, String(fallback));
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) fail(`${name} must be a positive number of milliseconds, not '${raw}'`);
  return value;
}

function readPem(name) {
  const file = setting(name, undefined, { required: true });
  try {
    return readFileSync(file);
  } catch (e) {
    return fail(`cannot read ${file} (${name}): ${e.message}`);
  }
}

const host = setting('MQTT_HOST', 'localhost');
const port = Number(setting('MQTT_PORT', '8883'));
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`MQTT_PORT must be a port number, not '${process.env.MQTT_PORT}'`);
const username = setting('MQTT_USERNAME', undefined, { required: true });
const password = setting('MQTT_PASSWORD', undefined, { required: true });
const clientId = setting('MQTT_CLIENT_ID', username);
const topic = setting('MQTT_TOPIC', `devices/${clientId}/hello`);
const publishIntervalMs = milliseconds('MQTT_PUBLISH_INTERVAL_MS', 10_000);
const backoffMinMs = milliseconds('MQTT_BACKOFF_MIN_MS', 1_000);
const backoffMaxMs = milliseconds('MQTT_BACKOFF_MAX_MS', 60_000);
const tls = {
  ca: readPem('MQTT_CA_FILE'),
  // The device certificate followed by its intermediate(s): the broker needs the whole chain up to
  // the anchor registered for the account.
  cert: readPem('MQTT_CERT_FILE'),
  key: readPem('MQTT_KEY_FILE'),
};
try {
  createSecureContext(tls); // a key that does not parse or match the certificate: say so now, not at every attempt
} catch (e) {
  fail(`cannot load the CA, certificate or key: ${e.message}`);
}

/**
 * Doubles with each failure in a row, capped; a random half of it is jitter, so a fleet cut off at
 * once does not come back at once.
 */
function backoffMs(failures) {
  const ceiling = Math.min(backoffMaxMs, backoffMinMs * 2 ** (failures - 1));
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

let stopping = false;
let current; // the client of the connection in progress
let wake = () => undefined; // ends the backoff wait early when stopping
let sent = 0;

/** One connection, from CONNECT until it ends. Resolves true when the broker had accepted it. */
function session(attempt) {
  log(`connecting to ${host}:${port} as '${clientId}' (user '${username}'), attempt ${attempt}`);
  return new Promise((resolve) => {
    const client = mqtt.connect({
      protocol: 'mqtts',
      host,
      port,
      ...tls,
      // TLS 1.2+, the server's chain checked against MQTT_CA_FILE and its name against MQTT_HOST.
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      protocolVersion: 4, // MQTT 3.1.1
      clientId,
      username,
      password,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // reconnection is ours (below)
    });
    current = client;
    let accepted = false;
    let returnCode;
    let lastError;
    let timer;
    const publish = () => {
      sent += 1;
      const payload = `hello ${sent} from ${clientId}`;
      client.publish(topic, payload, { qos: 1 });
      log(`published '${payload}' to '${topic}'`);
    };
    client.on('connect', () => {
      accepted = true;
      log(`connected (CONNACK 0: ${CONNACK_MEANING[0]})`);
      client.subscribe(topic, { qos: 1 }, (err, granted) => {
        if (err) return; // the connection ended; 'close' reports it
        const code = granted?.[0]?.qos ?? 0x80;
        if (code >= 0x80) {
          log(`subscription to '${topic}' refused (SUBACK 0x80): the topic is outside what the broker allows`);
          return;
        }
        log(`subscribed to '${topic}' (QoS ${code})`);
        publish();
        timer = setInterval(publish, publishIntervalMs);
      });
    });
    client.on('message', (t, payload) => log(`received '${payload.toString()}' on '${t}'`));
    client.on('error', (e) => {
      // A refusal carries the CONNACK return code as a number; socket and TLS errors a string code.
      if (typeof e.code === 'number') returnCode = e.code;
      else lastError = e;
    });
    client.once('close', () => {
      clearInterval(timer);
      client.end(true);
      current = undefined;
      if (stopping) return resolve(accepted);
      if (returnCode !== undefined) log(`refused: CONNACK ${returnCode} (${CONNACK_MEANING[returnCode] ?? 'unknown return code'})`);
      else if (accepted) log(`connection lost${lastError ? `: ${lastError.message}` : ''}`);
      else if (lastError?.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /certificate/i.test(lastError?.message ?? ''))
        log(`connection failed: the server certificate was not accepted (${lastError.message}): is MQTT_CA_FILE the CA of the broker's certificate, and MQTT_HOST a name in it?`);
      else log(`connection failed: ${lastError?.message ?? 'closed before CONNACK'}`);
      resolve(accepted);
    });
  });
}

async function run() {
  let failures = 0;
  for (let attempt = 1; !stopping; attempt += 1) {
    const accepted = await session(attempt);
    if (stopping) break;
    // An accepted connection that later dropped starts the backoff over.
    failures = accepted ? 1 : failures + 1;
    const delay = backoffMs(failures);
    log(`retrying in ${(delay / 1000).toFixed(2)} s`);
    await new Promise((resolve) => {
      const t = setTimeout(resolve, delay);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  log('stopped');
}

const stop = () => {
  stopping = true;
  current?.end(); // a DISCONNECT, then 'close'
  wake();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
await run();
