// The device examples (examples/devices/) against the system as a user starts it. `twoway up` prints
// how to connect the demo device and writes its settings (pki/device.env); each example is run exactly
// the way that output says and must connect with the demo device's chain, key and credential, receive
// its own message, report a refusal with its CONNACK code and meaning, back off (exponentially, with
// jitter, capped) instead of spinning, and reconnect once the broker has dropped it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { System, waitFor } from '@twoway/testing';
import { Operator, type AuditItem } from './support/operator.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = '/usr/bin/python3'; // the distribution's, which python3-paho-mqtt installs into

interface Line {
  at: number;
  text: string;
}

/** One example run as a child process: its output as timestamped lines, stopped by its pid. */
class ExampleRun {
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  private rest = '';

  constructor(readonly name: string, readonly child: ChildProcess) {
    const take = (d: Buffer) => {
      this.rest += d.toString();
      for (let i = this.rest.indexOf('\n'); i >= 0; i = this.rest.indexOf('\n')) {
        this.lines.push({ at: Date.now(), text: this.rest.slice(0, i) });
        this.rest = this.rest.slice(i + 1);
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get output(): string {
    return `--- ${this.name} ---\n${this.lines.map((l) => l.text).join('\n')}${this.rest}`;
  }

  /** Index of the first line from `from` on that matches. */
  async line(re: RegExp, from = 0, timeoutMs = 20_000): Promise<number> {
    const find = () => this.lines.findIndex((l, i) => i >= from && re.test(l.text));
    try {
      await waitFor(() => find() >= 0 || this.child.exitCode !== null, { timeoutMs, what: `${re} from ${this.name}` });
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.output}`);
    }
    const i = find();
    if (i < 0) throw new Error(`${this.name} exited (${this.child.exitCode}) before printing ${re}\n${this.output}`);
    return i;
  }

  /** SIGTERM, as a service manager stops it; SIGKILL to its process group if it lingers or left a child. */
  async stop(): Promise<number | null> {
    const pid = this.child.pid!;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const killer = setTimeout(() => killGroup(pid), 5000);
    const code = await this.exited;
    clearTimeout(killer);
    killGroup(pid);
    return code;
  }
}

/** The seconds of a `retrying in N s` line. */
const retryDelayS = (text: string): number | undefined => {
  const m = /^retrying in (\d+\.\d+) s$/.exec(text);
  return m ? Number(m[1]) : undefined;
};

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* the group is gone */
  }
}

/** The announced backoff of the n-th failure in a row: within [ceiling/2, ceiling], ceiling = min(max, min·2^(n-1)). */
function assertBackoff(run: ExampleRun, delaysS: number[], minMs: number, maxMs: number): void {
  delaysS.forEach((s, i) => {
    const ceiling = Math.min(maxMs, minMs * 2 ** i) / 1000;
    assert.ok(s >= ceiling / 2 - 0.005 && s <= ceiling + 0.005, `${run.name}: retry ${i + 1} after ${s} s, expected ${ceiling / 2}–${ceiling} s\n${run.output}`);
  });
}

describe('device examples against `twoway up`', { timeout: 120_000 }, () => {
  let sys: System;
  let op: Operator;
  let accountId: string;
  let loadEnv: string; // the printed `set -a; . device.env; set +a`
  let mosquittoPubLine: string;
  const commands: Record<'mosquitto' | 'python-paho' | 'mqttjs', string[]> = { mosquitto: [], 'python-paho': [], mqttjs: [] };
  const runs: ExampleRun[] = [];

  before(async () => {
    sys = await System.start({
      demo: true,
      // The wrong-password runs below fail a dozen times from 127.0.0.1 within a minute: the
      // credential lockout (docs/limits.md) would turn their CONNACK 4 into RATE_LIMITED.
      env: { TWOWAY_CREDENTIAL_MAX_FAILURES: '1000' },
    });
    op = new Operator(sys);
    const out = sys.proc.log;
    const grab = (re: RegExp, what: string) => {
      const m = re.exec(out);
      assert.ok(m, `twoway up printed no ${what}:\n${out}`);
      return m;
    };
    accountId = grab(/^Demo account (\S+):/m, 'demo account')[1]!;
    mosquittoPubLine = grab(/^ {2}(mosquitto_pub .*)$/m, 'mosquitto_pub line')[1]!;
    loadEnv = grab(/^ {2}(set -a; \. .*device\.env'?; set \+a)$/m, 'line that loads device.env')[1]!;
    const ex = grab(/^ {2}(\S*examples\/devices\/mosquitto\/device\.sh) +# or: python3 (\S+python-paho\/device\.py), node (\S+mqttjs\/device\.mjs)$/m, 'example command line');
    commands.mosquitto = [ex[1]!];
    commands['python-paho'] = [PYTHON, ex[2]!];
    commands.mqttjs = [process.execPath, ex[3]!];
  });
  after(async () => {
    await Promise.all(runs.map((r) => r.stop()));
    await sys?.stop();
  });

  /** Run an example as printed by `twoway up`: load device.env, then the example, with `overrides` on top. */
  const start = (name: keyof typeof commands, overrides: Record<string, string>): ExampleRun => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // the Node example is not a test
    const child = spawn('bash', ['-c', `${loadEnv}; exec env "$@"`, 'example', ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`), ...commands[name]], {
      cwd: repoRoot,
      env,
      detached: true, // its own process group, so that stop() also ends what it started (mosquitto_sub)
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run = new ExampleRun(name, child);
    runs.push(run);
    return run;
  };

  const audit = (clientId: string, type: string) =>
    waitFor(async () => (await op.audit(accountId, { clientId, type })).at(0), { what: `${type} of ${clientId}`, timeoutMs: 15_000 }) as Promise<AuditItem>;

  it('the mosquitto_pub line twoway up prints connects the demo device and publishes', async () => {
    const r = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile('bash', ['-c', mosquittoPubLine], { cwd: repoRoot, timeout: 15_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
      ),
    );
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /received CONNACK \(0\)/);
    assert.match(r.output, /sending PUBLISH .*'demo\/hello'/);
  });

  it('each example receives its own message, is dropped by a suspension, reports the refusal, backs off and reconnects once restored', async () => {
    const backoff = { min: 200, max: 1000 }; // a low cap, so the restore is noticed within a second
    const examples = (Object.keys(commands) as (keyof typeof commands)[]).map((name) =>
      start(name, { MQTT_CLIENT_ID: `example-${name}`, MQTT_TOPIC: `examples/${name}`, MQTT_BACKOFF_MIN_MS: String(backoff.min), MQTT_BACKOFF_MAX_MS: String(backoff.max) }),
    );
    for (const run of examples) {
      const id = `example-${run.name}`;
      const connected = await run.line(/^connected \(CONNACK 0: connection accepted\)$/);
      const subscribed = await run.line(new RegExp(`^subscribed to 'examples/${run.name}' \\(QoS 1\\)$`), connected);
      const published = await run.line(new RegExp(`^published 'hello 1 from ${id}' to 'examples/${run.name}'$`), subscribed);
      await run.line(new RegExp(`^received 'hello 1 from ${id}' on 'examples/${run.name}'$`), published);
    }

    // The demo account's anchor is the dev root above every example's chain.
    const certs = await sys.api<{ items: { id: string; kind: string }[] }>('GET', `/api/v1/accounts/${accountId}/certificates`);
    const root = certs.body.items.find((c) => c.kind === 'root');
    assert.ok(root, JSON.stringify(certs.body));
    const suspendedFrom = examples.map((r) => r.lines.length);
    await op.setStatus(accountId, root.id, 'SUSPENDED');
    const lost: number[] = [];
    for (const [i, run] of examples.entries()) {
      lost[i] = await run.line(/^connection lost/, suspendedFrom[i]);
      // At least two refusals while suspended, each followed by a longer wait.
      let at = lost[i]!;
      for (let k = 0; k < 2; k += 1) {
        at = await run.line(/^refused: CONNACK 5 \(not authorized: the certificate chain was not accepted/, at + 1);
        at = await run.line(/^retrying in \d+\.\d+ s$/, at + 1);
      }
      const ev = await audit(`example-${run.name}`, 'connect.rejected');
      assert.equal(ev.reason, 'ANCHOR_SUSPENDED', run.output);
    }
    const restoredFrom = examples.map((r) => r.lines.length);
    await op.setStatus(accountId, root.id, 'VALID');
    for (const [i, run] of examples.entries()) {
      const id = `example-${run.name}`;
      const again = await run.line(/^connected \(CONNACK 0/, restoredFrom[i]);
      await run.line(new RegExp(`^received 'hello \\d+ from ${id}' on 'examples/${run.name}'$`), again);
      // From the drop to the reconnect: one failure more per retry, the wait doubling up to the cap.
      const delays = run.lines.slice(lost[i]!, again).flatMap((l) => retryDelayS(l.text) ?? []);
      assertBackoff(run, delays, backoff.min, backoff.max);
      assert.equal(await run.stop(), 0, run.output);
      assert.match(run.output, /^stopped$/m);
    }
  });

  it('with a wrong password each example reports CONNACK 4 and what it means, and waits longer after each refusal', async () => {
    const backoff = { min: 500, max: 60_000 };
    const examples = (Object.keys(commands) as (keyof typeof commands)[]).map((name) =>
      start(name, { MQTT_CLIENT_ID: `wrong-${name}`, MQTT_PASSWORD: 'not-the-password', MQTT_BACKOFF_MIN_MS: String(backoff.min), MQTT_BACKOFF_MAX_MS: String(backoff.max) }),
    );
    for (const run of examples) {
      let at = -1;
      for (let k = 0; k < 3; k += 1) at = await run.line(/^retrying in \d+\.\d+ s$/, at + 1);
      await run.line(/^connecting to /, at + 1); // the attempt after the third wait
      assert.equal(await run.stop(), 0, run.output);
      const lines = run.lines;
      assert.ok(!lines.some((l) => l.text.startsWith('connected')), run.output);
      const refusals = lines.filter((l) => l.text.startsWith('refused: '));
      assert.ok(refusals.length >= 3, run.output);
      for (const r of refusals) {
        assert.equal(r.text, 'refused: CONNACK 4 (bad user name or password: check MQTT_USERNAME and MQTT_PASSWORD; the credential may also be disabled or expired)', run.output);
      }
      // The announced waits grow as promised, and the next attempt really waits for them: no spinning.
      const waits = lines.flatMap((l, i) => {
        const s = retryDelayS(l.text);
        return s === undefined ? [] : [{ s, at: l.at, next: lines.slice(i + 1).find((n) => n.text.startsWith('connecting to '))?.at }];
      });
      assertBackoff(run, waits.map((w) => w.s), backoff.min, backoff.max);
      for (const w of waits.filter((x) => x.next !== undefined)) {
        assert.ok(w.next! - w.at >= w.s * 1000 - 150, `${run.name} waited ${w.next! - w.at} ms, announced ${w.s} s\n${run.output}`);
      }
      const ev = await audit(`wrong-${run.name}`, 'connect.rejected');
      assert.equal(ev.reason, 'BAD_CREDENTIALS', run.output);
    }
  });
});
