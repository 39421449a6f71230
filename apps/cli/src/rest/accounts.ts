// `twoway accounts`: the account tree (create, show, children).
import type { Account } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, processIo, type Io } from './command.js';
import { asJson, keyValues, table, time } from './output.js';

export const accounts = command('accounts', 'The account tree: sub-accounts inherit the trust anchors of the accounts above them.', {
  create: {
    summary: 'create a sub-account',
    options: {
      name: { type: 'string', arg: 'NAME', help: 'account name (required)' },
      parent: { type: 'string', arg: 'ACCOUNT', help: "parent account by id, id prefix or name (default: --account, else the token's account)" },
    },
    async run(c) {
      const name = c.str('name');
      if (!name) throw new CliError('--name is required', 2);
      const parent = c.str('parent');
      const parentId = parent ? await c.accountRef(parent) : await c.account();
      const acc = await c.api.json<Account>('POST', '/accounts', { body: { name, parentId } });
      c.io.out(c.json ? asJson(acc) : `created account ${acc.name} (${acc.id}) under ${acc.parentId ?? '-'}`);
    },
  },
  show: {
    summary: "show an account (default: --account, else the token's account)",
    args: '[id|prefix|name]',
    positionals: [0, 1],
    notes: ["An account is named by its id, a unique id prefix (8+ hex digits) or its name if no other account in the token's subtree has it."],
    async run(c) {
      const acc = await c.api.json<Account>('GET', `/accounts/${enc(c.args[0] ? await c.accountRef(c.args[0]) : await c.account())}`);
      c.io.out(c.json ? asJson(acc) : keyValues([['id', acc.id], ['name', acc.name], ['parent', acc.parentId], ['created', time(acc.createdAt)]]));
    },
  },
  children: {
    summary: 'list the direct sub-accounts of an account (--recursive: all below it)',
    args: '[id|prefix|name]',
    positionals: [0, 1],
    options: { recursive: { type: 'boolean', help: 'every account below it, not only the direct children' } },
    async run(c) {
      const id = c.args[0] ? await c.accountRef(c.args[0]) : await c.account();
      const { items } = await c.api.all<Account>(`/accounts/${enc(id)}/children`, c.opts.recursive ? { recursive: 'true' } : { limit: 200 });
      if (c.json) return void c.io.out(asJson(items));
      if (!items.length) return void c.io.out('no sub-accounts (create one with `twoway accounts create --name NAME`)');
      c.io.out(table(['id', 'name', 'parent', 'created'], items.map((a) => [a.id, a.name, a.parentId, time(a.createdAt)])));
    },
  },
});

export const run = (argv: string[], io: Io = processIo()): Promise<number> => accounts(argv, io);
