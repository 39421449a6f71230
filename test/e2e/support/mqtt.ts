// Real MQTT clients for end-to-end tests: the `mqtt` package and mosquitto_pub/mosquitto_sub.
import { execFile, spawn } from 'node:child_process';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';

export interface DeviceTls {
  ca: string; // PEM the device trusts (the broker's root)
  cert?: string; // PEM chain the device presents
  key?: string;
}

export interface ConnectResult {
  connected: boolean;
  /** CONNACK return code when refused (MQTT 3.1.1: 4 bad username/password, 5 not authorized). */
  returnCode?: number;
  error?: string;
  client?: MqttClient;
}

/** Connect once (no reconnect) and report the CONNACK outcome. The caller ends `client`. */
export function tryConnect(port: number, tls: DeviceTls, creds: { clientId: string; username?: string; password?: string }, timeoutMs = 10_000): Promise<ConnectResult> {
  const opts: IClientOptions = {
    protocol: 'mqtts',
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    rejectUnauthorized: true,
    clientId: creds.clientId,
    username: creds.username,
    password: creds.password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  };
  return new Promise((resolve) => {
    const client = connect(opts);
    const done = (r: ConnectResult) => {
      clearTimeout(t);
      client.removeAllListeners('connect');
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      if (!r.connected) client.end(true);
      resolve(r);
    };
    const t = setTimeout(() => done({ connected: false, error: 'timeout' }), timeoutMs + 1000);
    client.once('connect', () => done({ connected: true, client }));
    client.once('error', (e: Error & { code?: number }) => done({ connected: false, returnCode: typeof e.code === 'number' ? e.code : undefined, error: e.message }));
    client.once('close', () => done({ connected: false, error: 'closed' }));
  });
}

export interface MosquittoFiles {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

const mosqArgs = (port: number, f: MosquittoFiles, c: { clientId: string; username?: string; password?: string }) => [
  '-h', 'localhost', '-p', String(port), '--cafile', f.caFile,
  ...(f.certFile ? ['--cert', f.certFile, '--key', f.keyFile!] : []),
  '-i', c.clientId, ...(c.username ? ['-u', c.username] : []), ...(c.password ? ['-P', c.password] : []),
  '-V', 'mqttv311',
];

/** mosquitto_pub one message; resolves with its exit code and output. */
export function mosquittoPub(port: number, f: MosquittoFiles, c: { clientId: string; username?: string; password?: string }, topic: string, message: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', [...mosqArgs(port, f, c), '-t', topic, '-m', message, '-q', '1'], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** mosquitto_sub that exits after `count` messages; `ready` resolves once subscribed (SUBACK seen with -d). */
export function mosquittoSub(port: number, f: MosquittoFiles, c: { clientId: string; username?: string; password?: string }, topic: string, count = 1) {
  // stdout is a pipe, so mosquitto_sub's stdio would hold "SUBACK" back until exit: line-buffer it.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...mosqArgs(port, f, c), '-t', topic, '-C', String(count), '-q', '1', '-d', '-W', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes('SUBACK')) resolve();
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`mosquitto_sub exited (${code}) before subscribing: ${out}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.once('exit', (code) => resolve({ code, output: out })));
  return { child, ready, exited, output: () => out, stop: () => { if (child.exitCode === null) child.kill('SIGTERM'); return exited; } };
}
