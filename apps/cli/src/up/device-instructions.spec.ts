// The demo device's settings file and printed lines: what a shell reads back from device.env is what
// was written, whatever the paths hold, and the lines name the same files as the file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectInstructions, deviceEnv, shellQuote, type DemoDevice } from './device-instructions.js';

const device = (dir: string): DemoDevice => ({
  host: 'localhost',
  port: 8883,
  caFile: `${dir}/pki/ca.pem`,
  certFile: `${dir}/pki/device.pem`,
  keyFile: `${dir}/pki/device.key`,
  username: 'demo-device',
  passwordFile: `${dir}/pki/device.password`,
  clientId: 'demo-device',
  topic: 'demo/hello',
});

describe('device.env', () => {
  it('gives a shell back every value as written, quotes, spaces and $ included', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'twoway-env-'));
    try {
      const d = device("/data dir/it's $HOME");
      const password = `pa'ss "$(x)" \`y\``;
      const file = join(tmp, 'device.env');
      writeFileSync(file, deviceEnv(d, password));
      const out = execFileSync('bash', ['-c', 'set -a; . "$1"; set +a; env -0', '_', file], { env: { PATH: process.env.PATH } }).toString();
      const env = Object.fromEntries(out.split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      assert.deepEqual(
        { ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('MQTT_'))) },
        {
          MQTT_HOST: 'localhost',
          MQTT_PORT: '8883',
          MQTT_CA_FILE: d.caFile,
          MQTT_CERT_FILE: d.certFile,
          MQTT_KEY_FILE: d.keyFile,
          MQTT_USERNAME: 'demo-device',
          MQTT_PASSWORD: password,
          MQTT_CLIENT_ID: 'demo-device',
          MQTT_TOPIC: 'demo/hello',
        },
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('leaves plain words unquoted', () => {
    assert.equal(shellQuote('data/pki/ca.pem'), 'data/pki/ca.pem');
    assert.equal(shellQuote('a b'), `'a b'`);
  });
});

describe('the printed instructions', () => {
  const cwd = '/home/me/twoway';
  const rel = (f: string) => (f.startsWith(`${cwd}/`) ? f.slice(cwd.length + 1) : f);
  const lines = connectInstructions(device(`${cwd}/data`), `${cwd}/data/pki/device.env`, `${cwd}/examples/devices`, rel).join('\n');

  it('a mosquitto_pub line with the chain, key, server CA and credential, paths relative to the working directory', () => {
    assert.match(
      lines,
      /mosquitto_pub -h localhost -p 8883 --cafile data\/pki\/ca\.pem --cert data\/pki\/device\.pem --key data\/pki\/device\.key -i demo-device -u demo-device -P "\$\(cat data\/pki\/device\.password\)" -t demo\/hello/,
    );
  });

  it('loads device.env and runs each of the three examples', () => {
    assert.match(lines, /^ {2}set -a; \. data\/pki\/device\.env; set \+a$/m);
    assert.match(lines, /^ {2}examples\/devices\/mosquitto\/device\.sh +# or: python3 examples\/devices\/python-paho\/device\.py, node examples\/devices\/mqttjs\/device\.mjs$/m);
    assert.match(lines, /\(examples\/devices\/README\.md\)/);
  });
});
