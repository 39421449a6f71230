// `twoway audit`: query and export the account's audit events, or follow new ones live (SSE).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { auditWho, reasonExplanation, reasonFix, type AuditEvent } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, oneOf, parseTime, processIo, type Call, type Io, type OptionSpec } from './command.js';
import { asJson, table, time } from './output.js';

const FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
type Format = (typeof FORMATS)[number];
const CSV_COLUMNS = ['id', 'time', 'type', 'outcome', 'reason', 'account', 'clientId', 'username', 'certificateId', 'source'] as const;

const row = (e: AuditEvent): string[] => [time(e.time), e.type, e.outcome ?? '-', e.reason ?? '-', auditWho(e)];

/** RFC 4180 field quoting. */
const csvField = (v: unknown): string => {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csvRow = (e: AuditEvent): string =>
  [e.id, e.time, e.type, e.outcome, e.reason, e.account, e.device?.clientId, e.device?.username, e.certificateId, e.source].map(csvField).join(',');

/** Parse one text/event-stream block (HTML Living Standard §9.2.6): data lines joined, id remembered. */
export function parseSseBlock(block: string): { data: string; id?: string } | null {
  const data: string[] = [];
  let id: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return data.length ? { data: data.join('\n'), id } : null;
}

async function follow(c: Call, path: string, query: Record<string, string | undefined>, print: (e: AuditEvent) => void): Promise<void> {
  const signal = c.io.signal;
  let lastId: string | undefined;
  let delayMs = 500;
  const qs = new URLSearchParams(Object.entries(query).filter((kv): kv is [string, string] => Boolean(kv[1]))).toString();
  while (!signal?.aborted) {
    try {
      const res = await c.api.send('GET', `${path}/stream${qs ? `?${qs}` : ''}`, { accept: 'text/event-stream', signal, headers: lastId ? { 'last-event-id': lastId } : {} });
      delayMs = 500;
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        const blocks = buf.split(/\r?\n\r?\n/);
        buf = blocks.pop() ?? '';
        for (const b of blocks) {
          const msg = parseSseBlock(b);
          if (!msg) continue;
          if (msg.id) lastId = msg.id;
          try {
            print(JSON.parse(msg.data) as AuditEvent);
          } catch {
            c.io.err(`twoway audit: skipped an event that is not JSON`);
          }
        }
      }
      if (signal?.aborted) return;
      c.io.err('twoway audit: the stream ended; reconnecting…');
    } catch (e) {
      if (signal?.aborted || (e as Error).name === 'AbortError') return;
      // Authentication, permission and routing errors will not fix themselves by retrying.
      if (e instanceof CliError && e.status !== undefined && e.status < 500) throw e;
      c.io.err(`twoway audit: ${(e as Error).message}; reconnecting…`);
    }
    await new Promise<void>((r) => {
      const t = setTimeout(r, delayMs);
      signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
    });
    delayMs = Math.min(delayMs * 2, 15_000);
  }
}

/** The search filters, shared by the query and the export so both find the same events. */
const FILTERS: Record<string, OptionSpec> = {
  type: { type: 'string', arg: 'TYPE', help: 'only this event type, e.g. connect.rejected, cert.status_changed (comma-separated; cert.* for a prefix)' },
  outcome: { type: 'string', arg: 'OUTCOME', help: 'accepted, rejected or ended' },
  reason: { type: 'string', arg: 'REASON', help: 'only this reason code, e.g. CERT_REVOKED' },
  'client-id': { type: 'string', arg: 'ID', help: 'only this device: its MQTT client id (exact)' },
  username: { type: 'string', arg: 'NAME', help: 'only this device: its MQTT username (exact)' },
  certificate: { type: 'string', arg: 'ID|SHA256', help: 'only events about this certificate (registration id or fingerprint)' },
  subtree: { type: 'boolean', help: 'also events of sub-accounts (the provider: also refusals no account is behind)' },
  since: { type: 'string', arg: 'TIME', help: 'from this time: ISO-8601, or a duration back from now (15m, 2h, 7d)' },
  until: { type: 'string', arg: 'TIME', help: 'up to this time (ISO-8601 or duration)' },
};

function filtersOf(c: Call) {
  return {
    type: c.str('type'),
    outcome: oneOf('outcome', c.str('outcome'), ['accepted', 'rejected', 'ended'] as const),
    reason: c.str('reason'),
    clientId: c.str('client-id'),
    username: c.str('username'),
    certificate: c.str('certificate'),
    subtree: c.opts.subtree ? 'true' : undefined,
    from: parseTime('since', c.str('since')),
    to: parseTime('until', c.str('until')),
  };
}

function limitOf(c: Call): number | undefined {
  const text = c.str('limit');
  const limit = text === undefined ? undefined : Number(text);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= 1000)) throw new CliError('--limit must be an integer from 1 to 1000', 2);
  return limit;
}

/**
 * Stream the audit service's export (it pages through every match itself) to stdout or to a file.
 * A file is written beside itself under a temporary name and renamed once complete, so an export
 * cut short (network, server) never leaves a file that looks whole.
 */
async function exportEvents(c: Call, query: Record<string, string | undefined>, format: 'ndjson' | 'csv', output: string | undefined, force: boolean): Promise<void> {
  const file = output && output !== '-' ? resolve(output) : undefined;
  if (file && existsSync(file) && !force) throw new CliError(`${file} exists: pass --force to replace it`, 2);
  const q = new URLSearchParams(Object.entries({ ...query, format } as Record<string, string | undefined>).filter((kv): kv is [string, string] => Boolean(kv[1])));
  const res = await c.api.send('GET', `/accounts/${enc(await c.account())}/audit?${q}`, { accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson' });
  const body = (res.body ?? []) as unknown as AsyncIterable<Uint8Array>;
  if (!file) {
    for await (const chunk of body) await c.io.write(chunk);
    return;
  }
  const partial = `${file}.${randomBytes(4).toString('hex')}.partial`;
  const fh = await open(partial, 'wx', 0o600);
  let lines = 0;
  try {
    for await (const chunk of body) {
      for (const b of chunk) if (b === 10) lines++;
      await fh.write(chunk);
    }
    await fh.close();
    await rename(partial, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw new CliError(`the export was cut short, nothing written to ${file}: ${(e as Error).message}`);
  }
  const count = format === 'ndjson' ? lines : Math.max(0, lines - 1);
  c.io.err(`wrote ${count} event${count === 1 ? '' : 's'} to ${file}${format === 'csv' ? ' (CSV rows; a field holding a line break spans two lines)' : ''}`);
}

export const audit = command(
  'audit',
  'Audit events of an account: connection attempts with their reason, and every change.',
  {
    '': {
      summary: 'query, export (--format ndjson|csv) or follow (--follow) audit events',
      options: {
        ...FILTERS,
        explain: { type: 'boolean', help: 'add what each reason means and how to fix it (table format)' },
        limit: { type: 'string', arg: 'N', help: 'at most N events (default 50; exports: all)' },
        follow: { type: 'boolean', short: 'f', help: 'keep printing new events as they happen (Ctrl-C to stop)' },
        format: { type: 'string', arg: 'FORMAT', help: 'table (default), json, ndjson or csv' },
      },
      notes: [
        "Export every match to a file or a pipe: 'twoway audit export --help'.",
        '',
        'examples:',
        '  twoway audit --client-id sensor-17 --subtree --explain     why was sensor-17 refused?',
        '  twoway audit --type connect.rejected --since 1h',
        '  twoway audit export --since 7d --format csv -o audit.csv',
        '  twoway audit --follow',
      ],
      async run(c) {
        const format: Format = oneOf('format', c.str('format'), FORMATS) ?? (c.json ? 'json' : 'table');
        const limit = limitOf(c);
        const filters = filtersOf(c);
        const path = `/accounts/${enc(await c.account())}/audit`;

        if (!c.opts.follow && (format === 'csv' || format === 'ndjson')) {
          // An export: the audit service renders the file; pass it through unchanged.
          await exportEvents(c, { ...filters, limit: limit?.toString() }, format, undefined, false);
          return 0;
        }

        const page = await c.api.json<{ items: AuditEvent[]; nextCursor: string | null }>('GET', path, { query: { ...filters, limit: limit ?? 50 } });
        // Oldest first, so the newest line is last, as in a log (and as --follow continues it).
        const items = [...page.items].sort((a, b) => a.time.localeCompare(b.time));
        const seen = new Set(items.map((e) => e.id));
        if (format === 'json' && !c.opts.follow) return void c.io.out(asJson(page.items));
        if (format === 'json' || format === 'ndjson') items.forEach((e) => c.io.out(JSON.stringify(e)));
        else if (format === 'csv') [CSV_COLUMNS.join(','), ...items.map(csvRow)].forEach((l) => c.io.out(l));
        else if (items.length) c.io.out(c.opts.explain ? table(['time', 'type', 'outcome', 'reason', 'device/actor', 'why', 'fix'], items.map((e) => [...row(e), e.reason ? (reasonExplanation(e.reason, e.detail) ?? '') : '', e.reason ? (reasonFix(e.reason) ?? '') : ''])) : table(['time', 'type', 'outcome', 'reason', 'device/actor'], items.map(row)));
        else if (!c.opts.follow) c.io.out('no audit events match');
        if (!c.opts.follow) {
          if (page.nextCursor && format === 'table') c.io.err('(more events: raise --limit, narrow with --since/--type, or export with --format csv)');
          if (c.opts.explain && format === 'table' && items.some((e) => e.outcome === 'rejected')) c.io.err("(ask again now, without connecting: 'twoway decide --chain FILE --client-id ID --username NAME')");
          return 0;
        }
        if (format === 'table') c.io.err('following new events (Ctrl-C to stop)…');
        await follow(c, path, { type: filters.type, outcome: filters.outcome, subtree: filters.subtree }, (e) => {
          if (seen.has(e.id)) return;
          seen.add(e.id);
          if ((filters.type && e.type !== filters.type) || (filters.outcome && e.outcome !== filters.outcome) || (filters.reason && e.reason !== filters.reason)) return;
          if ((filters.clientId && e.device?.clientId !== filters.clientId) || (filters.username && e.device?.username !== filters.username)) return;
          if (format === 'json' || format === 'ndjson') c.io.out(JSON.stringify(e));
          else if (format === 'csv') c.io.out(csvRow(e));
          else c.io.out(row(e).join('  '));
        });
        return 0;
      },
    },
    export: {
      summary: 'export every matching event as NDJSON or CSV, to standard output or a file',
      options: {
        ...FILTERS,
        format: { type: 'string', arg: 'FORMAT', help: 'ndjson (default: one JSON event a line) or csv' },
        output: { type: 'string', short: 'o', arg: 'FILE', help: 'write to FILE (mode 0600; complete or not at all) instead of standard output' },
        force: { type: 'boolean', help: 'replace FILE if it exists' },
        limit: { type: 'string', arg: 'N', help: 'at most N events, newest first (default: all)' },
      },
      notes: [
        'The audit service pages through every match itself; the export streams, whatever its size.',
        'examples:',
        '  twoway audit export --since 7d > audit.ndjson',
        '  twoway audit export --format csv --subtree --client-id sensor-17 -o sensor-17.csv',
      ],
      async run(c) {
        const format = oneOf('format', c.str('format'), ['ndjson', 'csv'] as const) ?? 'ndjson';
        await exportEvents(c, { ...filtersOf(c), limit: limitOf(c)?.toString() }, format, c.str('output'), Boolean(c.opts.force));
      },
    },
  },
  '',
);

export const run = (argv: string[], io: Io = processIo()): Promise<number> => audit(argv, io);
