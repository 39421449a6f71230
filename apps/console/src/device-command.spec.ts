// The commands of "Connect a device": a shell reads back every value as given, whatever it holds
// (quotes, spaces, $, backslashes), and the Python program is valid Python carrying the same values.
// The commands' runs against the broker are in test/browser/console-first-run.e2e.spec.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { EXAMPLE_MESSAGES, mosquittoPub, mqttJsPub, pahoScript, type DeviceSetup } from './device-command.js';

const hostile: DeviceSetup = {
  host: 'broker.example.test',
  port: 8883,
  caFile: "server CA's.pem",
  certFile: 'my device/chain "1".pem',
  keyFile: 'key $HOME `x`.key',
  username: `o'brien "x" $USER \\ é`,
  clientId: `o'brien "x" $USER \\ é`,
  topic: 'devices/hello world',
};

/** The words bash passes to `cmd` (stubbed as a function that prints its arguments). */
function words(line: string, cmd: string): string[] {
  const out = execFileSync('bash', ['-c', `${cmd}() { printf '%s\\0' "$@"; }\n${line}`], { env: { ...process.env, MQTT_PASSWORD: "pa ss'w$rd" } }).toString();
  return out.split('\0').slice(0, -1);
}

describe('device commands', () => {
  it('mosquitto_pub gets every value as given, the password from $MQTT_PASSWORD', () => {
    assert.deepEqual(words(mosquittoPub(hostile), 'mosquitto_pub'), [
      '-h', hostile.host, '-p', '8883', '--cafile', hostile.caFile, '--cert', hostile.certFile!, '--key', hostile.keyFile!,
      '-i', hostile.clientId, '-u', hostile.username, '-P', "pa ss'w$rd", '-t', hostile.topic, '-m', EXAMPLE_MESSAGES.mosquitto, '-d',
    ]);
  });

  it('the mqtt command of MQTT.js speaks TLS with every value as given, also without a client certificate', () => {
    assert.deepEqual(words(mqttJsPub(hostile), 'npx'), [
      '--yes', 'mqtt@5', 'pub', '-C', 'mqtts', '-h', hostile.host, '-p', '8883', '--ca', hostile.caFile, '--cert', hostile.certFile!, '--key', hostile.keyFile!,
      '-i', hostile.clientId, '-u', hostile.username, '-P', "pa ss'w$rd", '-q', '1', '-t', hostile.topic, '-m', EXAMPLE_MESSAGES.mqttJs,
    ]);
    const plain = words(mqttJsPub({ ...hostile, certFile: undefined, keyFile: undefined }), 'npx');
    assert.deepEqual(plain.slice(0, 5), ['--yes', 'mqtt@5', 'pub', '-C', 'mqtts']);
    assert.equal(plain.includes('--cert') || plain.includes('--key'), false);
  });

  it('the Paho program reaches python3 unchanged by the shell, parses, and holds every value as given', () => {
    const script = execFileSync('bash', ['-c', `python3() { cat; }\n${pahoScript(hostile)}`]).toString();
    assert.match(script, /^# One message with Eclipse Paho/);
    // Every string constant of the program, as Python reads it ($USER and the backticks unexpanded).
    const constants = JSON.parse(
      execFileSync('python3', ['-c', 'import ast, json, sys; print(json.dumps([n.value for n in ast.walk(ast.parse(sys.stdin.read())) if isinstance(n, ast.Constant) and isinstance(n.value, str)]))'], { input: script }).toString(),
    ) as string[];
    for (const v of [hostile.host, hostile.caFile, hostile.certFile!, hostile.keyFile!, hostile.username, hostile.topic, EXAMPLE_MESSAGES.paho, 'MQTT_PASSWORD']) assert.ok(constants.includes(v), `${JSON.stringify(v)} in the program`);
    assert.match(script, /client\.connect\("broker\.example\.test", 8883\)/);
    assert.doesNotMatch(pahoScript({ ...hostile, certFile: undefined, keyFile: undefined }), /load_cert_chain/);
  });
});
