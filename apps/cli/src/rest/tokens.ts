// `twoway tokens`: API tokens for admins, read-only operators and external PKI provisioners.
import type { Role, TokenInfo } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, oneOf, parseTime, processIo, type Call, type Io } from './command.js';
import { asJson, table, time } from './output.js';
import { resolveRef, tokenKind } from './resolve.js';

const ROLES = ['admin', 'operator', 'provisioner'] as const satisfies readonly Role[];
const base = async (c: Call): Promise<string> => `/accounts/${enc(await c.account())}/tokens`;

export const tokens = command('tokens', 'API tokens of an account (the secret is shown once, at creation).', {
  create: {
    summary: 'create a token and print its secret once',
    options: {
      name: { type: 'string', arg: 'NAME', help: 'who or what uses it (required)' },
      role: { type: 'string', arg: 'ROLE', help: `${ROLES.join(', ')} (required): operator is read-only; provisioner manages certificates only` },
      expires: { type: 'string', arg: 'TIME', help: 'expiry, ISO-8601' },
    },
    async run(c) {
      const name = c.str('name');
      if (!name) throw new CliError('--name is required', 2);
      const role = oneOf('role', c.str('role'), ROLES);
      if (!role) throw new CliError(`--role is required: one of ${ROLES.join(', ')}`, 2);
      const expiresAt = parseTime('expires', c.str('expires'));
      const t = await c.api.json<{ id: string; token: string }>('POST', await base(c), { body: { name, role, ...(expiresAt ? { expiresAt } : {}) } });
      c.io.out(c.json ? asJson(t) : `created token ${name} (${t.id}, ${role})\ntoken: ${t.token}\n(shown once: store it now, e.g. export TWOWAY_TOKEN=…)`);
    },
  },
  ls: {
    summary: 'list tokens (never their secrets)',
    async run(c) {
      const { items } = await c.api.all<TokenInfo>(await base(c), { limit: 200 });
      if (c.json) return void c.io.out(asJson(items));
      if (!items.length) return void c.io.out('no tokens');
      const state = (t: TokenInfo): string => (t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active');
      c.io.out(table(['id', 'name', 'role', 'state', 'expires', 'created'], items.map((t) => [t.id, t.name, t.role, state(t), t.expiresAt ? time(t.expiresAt) : 'never', time(t.createdAt)])));
    },
  },
  revoke: {
    summary: 'revoke a token (refused from its next request)',
    args: '<id|prefix|name>',
    positionals: [1, 1],
    notes: ['A token is named by its id, a unique id prefix (8+ hex digits) or its name if no other token of the account has it.'],
    async run(c) {
      const path = await base(c);
      const id = await resolveRef(c.api, tokenKind(path), c.args[0]!);
      await c.api.json('DELETE', `${path}/${enc(id)}`);
      c.io.out(c.json ? asJson({ revoked: id }) : `revoked ${id}`);
    },
  },
});

export const run = (argv: string[], io: Io = processIo()): Promise<number> => tokens(argv, io);
