// A small command framework for the REST clients: each command is a table of subcommands with their
// options declared once (parsing and --help come from the same declaration), plus the global flags.
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Account, Principal } from '@twoway/contracts';
import { CliError, DEFAULT_URL, RestClient } from './client.js';
import { accountKind, isFullId, resolveRef } from './resolve.js';

/** Where a command reads and writes; tests pass their own. */
export interface Io {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** Raw output, as it comes (exports): no newline added; resolves once the chunk is taken. */
  write(chunk: Uint8Array | string): Promise<void>;
  /** All of standard input (for `-` file arguments and --password-stdin). */
  stdin(): Promise<string>;
  /** Ends --follow (SIGINT in the terminal, an AbortController in tests). */
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export function processIo(): Io {
  let ctrl: AbortController | undefined;
  return {
    // Only --follow asks for the signal; other commands keep Ctrl-C's default (exit at once).
    get signal() {
      if (!ctrl) {
        ctrl = new AbortController();
        process.once('SIGINT', () => ctrl?.abort());
      }
      return ctrl.signal;
    },
    env: process.env,
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    // Backpressure: wait for a full pipe to drain instead of buffering a whole export in memory.
    write: (chunk) => new Promise<void>((ok) => (process.stdout.write(chunk) ? ok() : process.stdout.once('drain', ok))),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. NAME. */
  arg?: string;
  help: string;
  multiple?: boolean;
}

export interface Sub {
  summary: string;
  /** Positional arguments as shown in the usage line, e.g. `<id>`. */
  args?: string;
  positionals?: [min: number, max: number];
  options?: Record<string, OptionSpec>;
  /** Extra lines under the usage (examples). */
  notes?: string[];
  run(c: Call): Promise<number | void>;
}

export interface Call {
  args: string[];
  opts: Record<string, string | boolean | string[] | undefined>;
  io: Io;
  json: boolean;
  api: RestClient;
  /** The account to act on: --account (or $TWOWAY_ACCOUNT; an id, id prefix or name), else the token's own account. */
  account(): Promise<string>;
  /** The id of an account named by id, id prefix or name, in the token's subtree. */
  accountRef(ref: string): Promise<string>;
  whoami(): Promise<Principal>;
  str(name: string): string | undefined;
}

const GLOBAL: Record<string, OptionSpec> = {
  url: { type: 'string', arg: 'URL', help: 'twoway API origin (default: $TWOWAY_URL or http://127.0.0.1:8080)' },
  token: { type: 'string', arg: 'TOKEN', help: 'API token (default: $TWOWAY_TOKEN, $TWOWAY_TOKEN_FILE, ~/.config/twoway/token, $TWOWAY_DATA_DIR/bootstrap-token)' },
  account: { type: 'string', arg: 'ACCOUNT', help: "account to act on, by id, id prefix or name (default: $TWOWAY_ACCOUNT, else the token's own account)" },
  json: { type: 'boolean', help: 'print JSON instead of a table' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

function optionLines(opts: Record<string, OptionSpec>): string[] {
  return Object.entries(opts).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.arg ? ` ${o.arg}` : ''}`;
    return `  ${flag.padEnd(30)} ${o.help}`;
  });
}

function subHelp(cmd: string, name: string, s: Sub): string {
  const lines = [`usage: twoway ${cmd}${name ? ` ${name}` : ''}${s.args ? ` ${s.args}` : ''} [options]`, '', s.summary];
  if (s.options && Object.keys(s.options).length) lines.push('', 'options:', ...optionLines(s.options));
  lines.push('', 'global options:', ...optionLines(GLOBAL));
  if (s.notes?.length) lines.push('', ...s.notes);
  return lines.join('\n');
}

function groupHelp(cmd: string, summary: string, subs: Record<string, Sub>): string {
  const rows = Object.entries(subs).map(([k, s]) => `  ${`${k}${s.args ? ` ${s.args}` : ''}`.padEnd(28)} ${s.summary}`);
  return [`usage: twoway ${cmd} <subcommand> [options]`, '', summary, '', 'subcommands:', ...rows, '', 'global options:', ...optionLines(GLOBAL), '', `Run 'twoway ${cmd} <subcommand> --help' for its options.`].join('\n');
}

export interface FoundToken {
  token?: string;
  /** Where it came from: `--token`, `$TWOWAY_TOKEN` or a file's absolute path. */
  from?: string;
  /** Every place looked at, in order, with what was found there (for the error when none has one). */
  tried: string[];
}

/**
 * The API token, from the first of: --token, $TWOWAY_TOKEN, the file $TWOWAY_TOKEN_FILE, the user's
 * `$XDG_CONFIG_HOME/twoway/token` (default ~/.config/twoway/token), and the provider token `twoway up`
 * generates, `$TWOWAY_DATA_DIR/bootstrap-token` (TWOWAY_DATA_DIR defaults to ./data, as for `twoway up`:
 * relative to the current directory). A file named by $TWOWAY_TOKEN_FILE must exist: no fallback then.
 */
export function findToken(flag: string | undefined, env: Io['env']): FoundToken {
  if (flag) return { token: flag, from: '--token', tried: [] };
  if (env.TWOWAY_TOKEN) return { token: env.TWOWAY_TOKEN, from: '$TWOWAY_TOKEN', tried: [] };
  const tried = ['--token (not given)', '$TWOWAY_TOKEN (not set)'];
  const read = (file: string): string | undefined => {
    try {
      const text = readFileSync(file, 'utf8').trim();
      if (!text) tried.push(`${file} (empty)`);
      return text || undefined;
    } catch (e) {
      tried.push(`${file} (${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message})`);
      return undefined;
    }
  };
  if (env.TWOWAY_TOKEN_FILE) {
    const file = resolve(env.TWOWAY_TOKEN_FILE);
    const token = read(file);
    return token ? { token, from: file, tried } : { tried: [...tried.slice(0, -1), `$TWOWAY_TOKEN_FILE=${tried[tried.length - 1]}`] };
  }
  tried.push('$TWOWAY_TOKEN_FILE (not set)');
  for (const file of [userTokenFile(env), bootstrapTokenFile(env)]) {
    const token = read(file);
    if (token) return { token, from: file, tried };
  }
  return { tried };
}

/** The per-user token file: `$XDG_CONFIG_HOME/twoway/token`, by default ~/.config/twoway/token. */
export const userTokenFile = (env: Io['env']): string => join(resolve(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config')), 'twoway', 'token');
/** Where `twoway up` writes the provider token it generated. */
export const bootstrapTokenFile = (env: Io['env']): string => join(resolve(env.TWOWAY_DATA_DIR || './data'), 'bootstrap-token');

/** A token file others can read is a leaked token: say so (as ssh does for keys), but use it. */
function warnIfShared(file: string, io: Io): void {
  try {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) io.err(`twoway: warning: ${file} can be read by other users; restrict it with \`chmod 600 ${file}\``);
  } catch {
    // gone since it was read: nothing to warn about
  }
}

/**
 * A command with subcommands (`twoway certs ls`). With `defaultSub`, a first argument that is not a
 * subcommand name runs that one (`twoway audit --follow`).
 */
export function command(cmd: string, summary: string, subs: Record<string, Sub>, defaultSub?: string) {
  return async function main(argv: string[], io: Io): Promise<number> {
    const first = argv[0];
    let name: string;
    let rest: string[];
    if (first && Object.hasOwn(subs, first)) [name, rest] = [first, argv.slice(1)];
    else if (defaultSub !== undefined && (!first || first.startsWith('-'))) [name, rest] = [defaultSub, argv];
    else {
      if (!first || first === '--help' || first === '-h' || first === 'help') {
        io.out(groupHelp(cmd, summary, subs));
        return first ? 0 : 2;
      }
      io.err(`twoway ${cmd}: unknown subcommand '${first}'\n\n${groupHelp(cmd, summary, subs)}`);
      return 2;
    }
    const sub = subs[name]!;
    const specs = { ...GLOBAL, ...sub.options };
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        strict: true,
        options: Object.fromEntries(Object.entries(specs).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }])),
      });
    } catch (e) {
      io.err(`twoway ${cmd}${name ? ` ${name}` : ''}: ${(e as Error).message}\n\n${subHelp(cmd, name, sub)}`);
      return 2;
    }
    const opts = parsed.values as Call['opts'];
    if (opts.help) {
      io.out(subHelp(cmd, name, sub));
      return 0;
    }
    const [min, max] = sub.positionals ?? [0, 0];
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      const what = parsed.positionals.length < min ? `missing ${sub.args ?? 'arguments'}` : `unexpected argument '${parsed.positionals[max]}'`;
      io.err(`twoway ${cmd}${name ? ` ${name}` : ''}: ${what}\n\n${subHelp(cmd, name, sub)}`);
      return 2;
    }
    const url = (opts.url as string | undefined) || io.env.TWOWAY_URL || DEFAULT_URL;
    const found = findToken(opts.token as string | undefined, io.env);
    if (!found.token) {
      io.err(
        [
          `twoway ${cmd}: no API token. Looked at, in this order:`,
          ...found.tried.map((t) => `  ${t}`),
          'Pass --token, set TWOWAY_TOKEN or TWOWAY_TOKEN_FILE, or save a token in the user file above (mode 0600).',
          `\`twoway up\` prints where its provider token is (run from this directory, or with TWOWAY_DATA_DIR, it is the last file above).`,
        ].join('\n'),
      );
      return 2;
    }
    if (found.from?.startsWith('/')) warnIfShared(found.from, io);
    const api = new RestClient(url, found.token, io.fetch, found.from);
    let me: Promise<{ principal: Principal; account: Account }> | undefined;
    const me$ = () =>
      (me ??= api.json<{ principal: Principal; account: Account }>('GET', '/whoami').catch((e: unknown) => {
        if (e instanceof CliError && e.status === 404 && e.code === 'NOT_FOUND') throw new CliError('this API cannot tell which account the token belongs to (no /whoami): pass --account <id>', 2);
        throw e;
      }));
    const whoami = async (): Promise<Principal> => (await me$()).principal;
    const accountRef = async (ref: string): Promise<string> => {
      if (isFullId(ref)) return ref.toLowerCase();
      const { principal, account } = await me$();
      return resolveRef(api, accountKind(account ?? { id: principal.accountId, name: '', parentId: null, createdAt: '' }), ref);
    };
    const call: Call = {
      args: parsed.positionals,
      opts,
      io,
      json: Boolean(opts.json),
      api,
      whoami,
      account: async () => {
        const ref = (opts.account as string | undefined) || io.env.TWOWAY_ACCOUNT;
        return ref ? accountRef(ref) : (await whoami()).accountId;
      },
      accountRef,
      str: (k) => {
        const v = opts[k];
        return typeof v === 'string' ? v : undefined;
      },
    };
    try {
      return (await sub.run(call)) ?? 0;
    } catch (e) {
      if (e instanceof CliError) {
        io.err(`twoway ${cmd}${name ? ` ${name}` : ''}: ${e.message}`);
        return e.exitCode;
      }
      if ((e as Error).name === 'AbortError') return 0;
      throw e;
    }
  };
}

/** Reject a value outside a fixed set, naming the accepted ones. */
export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`--${flag} must be one of ${allowed.join(', ')} (got '${value}')`, 2);
  return value as T;
}

/** on/off, true/false, yes/no, enable/disable → boolean. */
export function onOff(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (['on', 'true', 'yes', '1', 'enable', 'enabled'].includes(v)) return true;
  if (['off', 'false', 'no', '0', 'disable', 'disabled'].includes(v)) return false;
  throw new CliError(`--${flag} must be on or off (got '${value}')`, 2);
}

/** An ISO-8601 time, or a duration back from now: 30s, 15m, 2h, 7d. */
export function parseTime(flag: string, value: string | undefined, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\s*(s|m|h|d|w)$/.exec(value.trim());
  if (m) {
    const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return new Date(now - Number(m[1]) * unit).toISOString();
  }
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new CliError(`--${flag} must be an ISO-8601 time or a duration like 15m, 2h, 7d (got '${value}')`, 2);
  return t.toISOString();
}

export const enc = encodeURIComponent;
