// `twoway topic-rules`: an account's topic permissions, an ordered list of allow/deny rules over MQTT
// topic filters (docs/permissions.md). Every change sends the whole list (PUT), as the API takes it.
import { readFile } from 'node:fs/promises';
import type { TopicRule, TopicRules } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, oneOf, processIo, type Call, type Io } from './command.js';
import { asJson, table } from './output.js';

const EFFECTS = ['allow', 'deny'] as const;
const ACTIONS = ['publish', 'subscribe', 'both'] as const;
const QUOTE_NOTE = "Quote filters with single quotes: in double quotes the shell replaces ${clientId} itself.";

const path = async (c: Call): Promise<string> => `/accounts/${enc(await c.account())}/topic-rules`;
const get = async (c: Call): Promise<TopicRule[]> => (await c.api.json<TopicRules>('GET', await path(c))).rules;
const put = async (c: Call, rules: TopicRule[]): Promise<TopicRule[]> => (await c.api.json<TopicRules>('PUT', await path(c), { body: { rules } })).rules;

/** The index a rule has in the list, as audit events name it (`detail.rule`). */
const print = (rules: TopicRule[]): string =>
  rules.length
    ? table(['rule', 'effect', 'action', 'filter'], rules.map((r, i) => [i, r.effect, r.action, r.filter])) +
      '\nThe first rule that matches decides; what no rule allows is refused.'
    : 'no topic rules: devices publish and subscribe anywhere in the account\'s namespace';

const show = (c: Call, rules: TopicRule[]): void => c.io.out(c.json ? asJson({ rules }) : print(rules));

function index(arg: string, length: number, allowEnd = false): number {
  const i = /^\d+$/.test(arg) ? Number(arg) : NaN;
  const max = allowEnd ? length : length - 1;
  if (!Number.isInteger(i) || i > max) throw new CliError(length === 0 && !allowEnd ? 'there are no topic rules' : `the rule index must be 0 to ${max} (got '${arg}')`, 2);
  return i;
}

export const topicRules = command('topic-rules', "An account's topic permissions: ordered allow/deny rules over MQTT topic filters.", {
  ls: {
    summary: 'list the rules in order',
    async run(c) {
      show(c, await get(c));
    },
  },
  add: {
    summary: 'add a rule (at the end, or before the rule at --at)',
    args: '<allow|deny> <publish|subscribe|both> <filter>',
    positionals: [3, 3],
    options: { at: { type: 'string', arg: 'INDEX', help: 'insert at this index (0: first); default: last' } },
    notes: [
      "example: twoway topic-rules add allow both 'devices/${clientId}/#'",
      "         twoway topic-rules add deny both 'devices/${clientId}/admin/#' --at 0",
      'Placeholders: ${username} (the credential), ${cn} (the verified certificate), ${clientId}.',
      QUOTE_NOTE,
    ],
    async run(c) {
      const [effect, action, filter] = c.args as [string, string, string];
      const rule: TopicRule = { effect: oneOf('effect', effect, EFFECTS)!, action: oneOf('action', action, ACTIONS)!, filter };
      const rules = await get(c);
      const at = c.str('at') === undefined ? rules.length : index(c.str('at')!, rules.length, true);
      rules.splice(at, 0, rule);
      show(c, await put(c, rules));
    },
  },
  rm: {
    summary: 'remove the rule at an index (as `ls` shows it)',
    args: '<index>',
    positionals: [1, 1],
    async run(c) {
      const rules = await get(c);
      rules.splice(index(c.args[0]!, rules.length), 1);
      show(c, await put(c, rules));
    },
  },
  set: {
    summary: 'replace every rule with those of a JSON file (`-`: standard input)',
    args: '<file>',
    positionals: [1, 1],
    notes: ['The file holds `{ "rules": [ { "effect", "action", "filter" }, … ] }` (what `ls --json` prints) or the array alone.'],
    async run(c) {
      const file = c.args[0]!;
      const text = file === '-' ? await c.io.stdin() : await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new CliError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, 2);
      });
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw new CliError(`${file === '-' ? 'standard input' : file} is not JSON: ${(e as Error).message}`, 2);
      }
      const rules = Array.isArray(doc) ? doc : (doc as { rules?: unknown } | null)?.rules;
      if (!Array.isArray(rules)) throw new CliError('expected { "rules": [...] } or an array of rules', 2);
      show(c, await put(c, rules as TopicRule[]));
    },
  },
  clear: {
    summary: 'remove every rule (devices get the whole namespace again)',
    async run(c) {
      show(c, await put(c, []));
    },
  },
});

export const run = (argv: string[], io: Io = processIo()): Promise<number> => topicRules(argv, io);
