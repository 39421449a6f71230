// `twoway audit`: query and export the account's audit events, or follow new ones live (SSE).
import { reasonExplanation, type AuditEvent } from '@twoway/contracts';
import { CliError } from './client.js';
import { command, enc, oneOf, parseTime, processIo, type Call, type Io } from './command.js';
import { asJson, table, time } from './output.js';

const FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
type Format = (typeof FORMATS)[number];
const CSV_COLUMNS = ['id', 'time', 'type', 'outcome', 'reason', 'account', 'clientId', 'username', 'certificateId', 'source'] as const;

const who = (e: AuditEvent): string => e.device?.clientId ?? e.device?.username ?? e.actor.name ?? `${e.actor.kind}:${e.actor.id}`;
const row = (e: AuditEvent): string[] => [time(e.time), e.type, e.outcome ?? '-', e.reason ?? '-', who(e)];

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

export const audit = command(
  'audit',
  'Audit events of an account: connection attempts with their reason, and every change.',
  {
    '': {
      summary: 'query, export (--format ndjson|csv) or follow (--follow) audit events',
      options: {
        type: { type: 'string', arg: 'TYPE', help: 'only this event type, e.g. connect.rejected, cert.status_changed' },
        outcome: { type: 'string', arg: 'OUTCOME', help: 'accepted, rejected or ended' },
        reason: { type: 'string', arg: 'REASON', help: 'only this reason code, e.g. CERT_REVOKED' },
        'client-id': { type: 'string', arg: 'ID', help: 'only this device: its MQTT client id (exact)' },
        username: { type: 'string', arg: 'NAME', help: 'only this device: its MQTT username (exact)' },
        certificate: { type: 'string', arg: 'ID|SHA256', help: 'only events about this certificate (registration id or fingerprint)' },
        subtree: { type: 'boolean', help: 'also events of sub-accounts (the provider: also refusals no account is behind)' },
        explain: { type: 'boolean', help: 'add a sentence saying what each reason means (table format)' },
        since: { type: 'string', arg: 'TIME', help: 'from this time: ISO-8601, or a duration back from now (15m, 2h, 7d)' },
        until: { type: 'string', arg: 'TIME', help: 'up to this time (ISO-8601 or duration)' },
        limit: { type: 'string', arg: 'N', help: 'at most N events (default 50; exports: all)' },
        follow: { type: 'boolean', short: 'f', help: 'keep printing new events as they happen (Ctrl-C to stop)' },
        format: { type: 'string', arg: 'FORMAT', help: 'table (default), json, ndjson or csv' },
      },
      notes: ['examples:', '  twoway audit --client-id sensor-17 --subtree --explain     why was sensor-17 refused?', '  twoway audit --type connect.rejected --since 1h', '  twoway audit --format csv --since 7d > audit.csv', '  twoway audit --follow'],
      async run(c) {
        const format: Format = oneOf('format', c.str('format'), FORMATS) ?? (c.json ? 'json' : 'table');
        const limitText = c.str('limit');
        const limit = limitText === undefined ? undefined : Number(limitText);
        if (limit !== undefined && !(Number.isInteger(limit) && limit > 0 && limit <= 1000)) throw new CliError('--limit must be an integer from 1 to 1000', 2);
        const filters = {
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
        const path = `/accounts/${enc(await c.account())}/audit`;

        if (!c.opts.follow && (format === 'csv' || format === 'ndjson')) {
          // An export: the audit service renders the file; pass it through unchanged.
          const q = new URLSearchParams(Object.entries({ ...filters, format, limit: limit?.toString() }).filter((kv): kv is [string, string] => Boolean(kv[1])));
          const res = await c.api.send('GET', `${path}?${q}`, { accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson' });
          const text = await res.text();
          if (text) c.io.out(text);
          return 0;
        }

        const page = await c.api.json<{ items: AuditEvent[]; nextCursor: string | null }>('GET', path, { query: { ...filters, limit: limit ?? 50 } });
        // Oldest first, so the newest line is last, as in a log (and as --follow continues it).
        const items = [...page.items].sort((a, b) => a.time.localeCompare(b.time));
        const seen = new Set(items.map((e) => e.id));
        if (format === 'json' && !c.opts.follow) return void c.io.out(asJson(page.items));
        if (format === 'json' || format === 'ndjson') items.forEach((e) => c.io.out(JSON.stringify(e)));
        else if (format === 'csv') [CSV_COLUMNS.join(','), ...items.map(csvRow)].forEach((l) => c.io.out(l));
        else if (items.length) c.io.out(c.opts.explain ? table(['time', 'type', 'outcome', 'reason', 'device/actor', 'why'], items.map((e) => [...row(e), e.reason ? (reasonExplanation(e.reason, e.detail) ?? '') : ''])) : table(['time', 'type', 'outcome', 'reason', 'device/actor'], items.map(row)));
        else if (!c.opts.follow) c.io.out('no audit events match');
        if (!c.opts.follow) {
          if (page.nextCursor && format === 'table') c.io.err('(more events: raise --limit, narrow with --since/--type, or export with --format csv)');
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
  },
  '',
);

export const run = (argv: string[], io: Io = processIo()): Promise<number> => audit(argv, io);
