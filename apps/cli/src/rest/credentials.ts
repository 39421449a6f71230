// `twoway credentials`: MQTT usernames and passwords of the account's devices.
import { randomBytes } from 'node:crypto';
import { GENERATED_PASSWORD_LENGTH, passwordFromBytes, type Credential } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, parseTime, processIo, type Call, type Io, type Sub } from './command.js';
import { asJson, table, time } from './output.js';
import { credentialKind, resolveRef } from './resolve.js';

const base = async (c: Call): Promise<string> => `/accounts/${enc(await c.account())}/credentials`;

/** The credential `ref` names: its id, an id prefix (8+ hex digits) or its username. */
const credId = async (c: Call, ref: string): Promise<{ path: string; id: string }> => {
  const path = await base(c);
  const id = await resolveRef(c.api, credentialKind(path), ref);
  return { path: `${path}/${enc(id)}`, id };
};
const REF = '<id|prefix|username>';

function setEnabled(enabled: boolean): Sub {
  return {
    summary: enabled ? 'enable a credential again' : 'disable a credential (devices using it can no longer connect)',
    args: REF,
    positionals: [1, 1],
    async run(c) {
      const cred = await c.api.json<Credential>('PATCH', (await credId(c, c.args[0]!)).path, { body: { enabled } });
      c.io.out(c.json ? asJson(cred) : `${enabled ? 'enabled' : 'disabled'} ${cred.username} (${cred.id})`);
    },
  };
}

/** --require-certificate / --no-require-certificate: true, false, or undefined when neither was given. */
function requireCertificateOpt(c: Call): boolean | undefined {
  const on = c.opts['require-certificate'] === true;
  const off = c.opts['no-require-certificate'] === true;
  if (on && off) throw new CliError('give --require-certificate or --no-require-certificate, not both', 2);
  return on ? true : off ? false : undefined;
}
const REQUIRE_OPTIONS = {
  'require-certificate': { type: 'boolean', help: 'accept it only on a verified client certificate, never on the password alone' },
  'no-require-certificate': { type: 'boolean', help: 'let it in on the password alone where the account allows plain TLS (fallback)' },
} as const;
const requirement = (x: Credential) => (x.requireCertificate ? 'required' : 'optional');

export const credentials = command('credentials', 'MQTT credentials of the devices in an account.', {
  add: {
    summary: 'add a username and password',
    options: {
      username: { type: 'string', arg: 'NAME', help: 'MQTT username (required)' },
      'password-stdin': { type: 'boolean', help: 'read the password from standard input' },
      password: { type: 'string', arg: 'PASSWORD', help: 'the password (visible in shell history: prefer --password-stdin)' },
      expires: { type: 'string', arg: 'TIME', help: 'expiry, ISO-8601 (e.g. 2027-01-01T00:00:00Z)' },
      disabled: { type: 'boolean', help: 'add it disabled' },
      ...REQUIRE_OPTIONS,
    },
    notes: [
      'Without --password or --password-stdin a random password is generated and printed once.',
      'Without --require-certificate or --no-require-certificate it requires a certificate when the account has mutual TLS on.',
    ],
    async run(c) {
      const username = c.str('username');
      if (!username) throw new CliError('--username is required', 2);
      let password = c.str('password');
      let generated = false;
      if (c.opts['password-stdin']) password = (await c.io.stdin()).replace(/\r?\n$/, '');
      if (password === undefined) {
        password = passwordFromBytes(randomBytes(GENERATED_PASSWORD_LENGTH));
        generated = true;
      }
      if (password.length < 8) throw new CliError('the password needs at least 8 characters', 2);
      const expiresAt = c.str('expires') ? parseFuture(c.str('expires')!) : undefined;
      const requireCertificate = requireCertificateOpt(c);
      const cred = await c.api.json<Credential>('POST', await base(c), {
        body: { username, password, ...(c.opts.disabled ? { enabled: false } : {}), ...(expiresAt ? { expiresAt } : {}), ...(requireCertificate !== undefined ? { requireCertificate } : {}) },
      });
      if (c.json) c.io.out(asJson(generated ? { ...cred, password } : cred));
      else c.io.out(`added ${cred.username} (${cred.id}), certificate ${requirement(cred)}${generated ? `\npassword: ${password}\n(shown once: store it on the device now)` : ''}`);
    },
  },
  ls: {
    summary: 'list credentials',
    async run(c) {
      const { items } = await c.api.all<Credential>(await base(c), { limit: 200 });
      if (c.json) return void c.io.out(asJson(items));
      if (!items.length) return void c.io.out('no credentials (add one with `twoway credentials add --username NAME`)');
      c.io.out(table(['id', 'username', 'enabled', 'certificate', 'expires', 'created'], items.map((x) => [x.id, x.username, x.enabled ? 'yes' : 'no', requirement(x), x.expiresAt ? time(x.expiresAt) : 'never', time(x.createdAt)])));
    },
  },
  update: {
    summary: 'change whether a credential requires a verified certificate',
    args: REF,
    positionals: [1, 1],
    options: REQUIRE_OPTIONS,
    notes: [
      'Turned on, its live sessions without a verified certificate (password only, fallback) end on every broker; its mutual-TLS sessions stay.',
      'example: twoway credentials update sensor-17 --require-certificate',
    ],
    async run(c) {
      const requireCertificate = requireCertificateOpt(c);
      if (requireCertificate === undefined) throw new CliError('nothing to change: give --require-certificate or --no-require-certificate', 2);
      const cred = await c.api.json<Credential>('PATCH', (await credId(c, c.args[0]!)).path, { body: { requireCertificate } });
      c.io.out(c.json ? asJson(cred) : `${cred.username} (${cred.id}): certificate ${requirement(cred)}`);
    },
  },
  disable: setEnabled(false),
  enable: setEnabled(true),
  rm: {
    summary: 'delete a credential',
    args: REF,
    positionals: [1, 1],
    async run(c) {
      const { path, id } = await credId(c, c.args[0]!);
      await c.api.json('DELETE', path);
      c.io.out(c.json ? asJson({ deleted: id }) : `removed ${id}`);
    },
  },
});

/** An expiry: ISO-8601 as given (a duration here would mean the past, so only absolute times). */
function parseFuture(v: string): string {
  if (/^\d+\s*[smhdw]$/.test(v)) throw new CliError('--expires takes an ISO-8601 time, e.g. 2027-01-01T00:00:00Z', 2);
  return parseTime('expires', v)!;
}

export const run = (argv: string[], io: Io = processIo()): Promise<number> => credentials(argv, io);
