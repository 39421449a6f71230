// The audit query API: a page of events (JSON), a streamed export (NDJSON, CSV) and a live tail (SSE).
// Every route goes through `authorize`, so an account outside the token's subtree is a 404.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AuditPage, AuditQuery, PathParams, type AuditEvent } from '@twoway/contracts';
import { authorize, type Resolver } from '@twoway/http';
import { buildFilter, DEFAULT_PAGE_LIMIT, tailMatches, type AuditFilter } from '../domain/filter.js';
import { csvHeader, csvRow } from '../domain/csv.js';
import { decodeCursor } from '../domain/cursor.js';
import type { AuditRepository } from '../db/audit-repository.js';
import type { LiveTail } from './live-tail.js';

const EXPORT_PAGE = 1000;
const SSE_HEARTBEAT_MS = 15_000;
/** Most stored events replayed to a tail that reconnects with Last-Event-ID. */
const REPLAY_MAX = 1000;
/** A tail client that stops reading is dropped rather than buffered without bound. */
const SSE_MAX_BUFFER_BYTES = 1024 * 1024;

const Params = Type.Object({ id: PathParams.id });
const TailQuery = Type.Object({ subtree: AuditQuery.properties.subtree, type: AuditQuery.properties.type });

// Examples for the API reference.
const EVENT: AuditEvent = {
  id: '4e1d0a52-8c0b-4b8e-a1a2-7d3f0e9c1b22',
  type: 'connect.rejected',
  time: '2026-11-23T10:00:01.000Z',
  account: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30',
  actor: { kind: 'device', id: 'sensor-18' },
  outcome: 'rejected',
  reason: 'CERT_REVOKED',
  device: { clientId: 'sensor-18', username: 'sensor-18', certificateSubject: 'CN=sensor-18' },
  sourceAddress: '203.0.113.8:40022',
  source: 'broker-1',
};

export interface AuditRoutesDeps {
  repo: AuditRepository;
  resolver: Resolver;
  tail: LiveTail;
}


export function registerAuditRoutes(app: FastifyInstance, d: AuditRoutesDeps): void {
  app.get(
    '/api/v1/accounts/:id/audit',
    {
      schema: {
        operationId: 'queryAudit',
        summary: 'Query or export audit events',
        description:
          'Connection attempts with their precise reason, and every change (who, when, before and after), newest first, a page at a time. Filters combine. ' +
          'With `format=ndjson` or `format=csv` the answer is instead a streamed file of every matching event (up to `limit` when given); CSV fields that a spreadsheet would run as a formula are prefixed with a quote. Roles: all.',
        tags: ['Audit'],
        params: Params,
        querystring: AuditQuery,
        response: { 200: AuditPage },
        errors: ['ACCOUNT_NOT_FOUND'],
        examples: { response: { items: [EVENT], nextCursor: null } },
        success: {
          description: 'A page of events (JSON), or the export (NDJSON, CSV).',
          content: {
            'application/x-ndjson': { example: `${JSON.stringify(EVENT)}\n` },
            'text/csv': { example: `${csvHeader()}${csvRow(EVENT)}` },
          },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as AuditQuery;
      const { ancestry } = await authorize(req, d.resolver, id, 'read');
      const filter = buildFilter(id, ancestry.map((a) => a.id), q);
      if (q.format === 'ndjson' || q.format === 'csv') return exportEvents(reply, d.repo, filter, q.format, q.limit, id);
      return d.repo.page(filter, q.limit ?? DEFAULT_PAGE_LIMIT);
    },
  );

  const open = new Set<FastifyReply>();
  app.addHook('preClose', async () => {
    for (const r of open) r.raw.end();
  });

  app.get(
    '/api/v1/accounts/:id/audit/stream',
    {
      schema: {
        operationId: 'followAudit',
        summary: 'Follow new audit events live',
        description:
          'Server-Sent Events: one `audit` event per stored event, its `id` the event id, and a comment line every 15 s. A client that reconnects with `Last-Event-ID` first receives what was stored after that event (up to 1000), then the live events. A client that stops reading is disconnected. Roles: all.',
        tags: ['Audit'],
        params: Params,
        querystring: TailQuery,
        errors: ['ACCOUNT_NOT_FOUND'],
        success: { description: 'An endless `text/event-stream`.', content: { 'text/event-stream': { example: `retry: 3000\n\nid: ${EVENT.id}\nevent: audit\ndata: ${JSON.stringify(EVENT)}\n\n` } } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { subtree?: boolean; type?: string };
      const { ancestry } = await authorize(req, d.resolver, id, 'read');
      const filter = buildFilter(id, ancestry.map((a) => a.id), { subtree: q.subtree, type: q.type });
      const lastId = req.headers['last-event-id'];
      await liveTail(req, reply, d, open, filter, typeof lastId === 'string' && lastId.length <= 64 ? lastId : undefined);
    },
  );
}

/** Stream every matching event (from the cursor, up to `limit` when given), page by page from the store. */
function exportEvents(reply: FastifyReply, repo: AuditRepository, filter: AuditFilter, format: 'ndjson' | 'csv', limit: number | undefined, accountId: string): FastifyReply {
  async function* lines(): AsyncGenerator<string> {
    if (format === 'csv') yield csvHeader();
    let f = filter;
    let left = limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const page = await repo.page(f, Math.min(EXPORT_PAGE, left));
      let chunk = '';
      for (const e of page.items) chunk += format === 'csv' ? csvRow(e) : `${JSON.stringify(e)}\n`;
      if (chunk) yield chunk;
      left -= page.items.length;
      if (!page.nextCursor) return;
      f = { ...filter, before: decodeCursor(page.nextCursor) };
    }
  }
  const ext = format === 'csv' ? 'csv' : 'ndjson';
  return reply
    .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
    .header('content-disposition', `attachment; filename="audit-${accountId}.${ext}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(lines()));
}

/**
 * Server-Sent Events (HTML Living Standard §9.2): one `audit` event per stored event, `id` = event id,
 * and a comment line as heartbeat so proxies keep the connection open. A client reconnecting with
 * `Last-Event-ID` first gets what was stored after that event (up to REPLAY_MAX), then the live events.
 */
async function liveTail(req: FastifyRequest, reply: FastifyReply, d: AuditRoutesDeps, open: Set<FastifyReply>, filter: AuditFilter, lastId: string | undefined): Promise<void> {
  const subtree = filter.subtreePathPrefix !== undefined;
  const matches = (e: AuditEvent) => tailMatches(e, filter.accountId, subtree, filter.includeUnattributed) && typeMatches(filter.types, e.type);
  // Subscribe before catching up so that nothing stored meanwhile falls between the two.
  let backlog: AuditEvent[] | undefined = [];
  const sent = new Set<string>();
  const res = reply.raw;
  const write = (e: AuditEvent) => {
    if (sent.has(e.id)) return;
    if (res.writableLength > SSE_MAX_BUFFER_BYTES) {
      req.log.warn({ account: filter.accountId }, 'audit live tail client too slow; closing');
      close();
      return;
    }
    res.write(`id: ${e.id}\nevent: audit\ndata: ${JSON.stringify(e)}\n\n`);
  };
  const unsubscribe = d.tail.subscribe((e) => {
    if (!matches(e)) return;
    if (backlog) backlog.push(e);
    else write(e);
  });
  let heartbeat: NodeJS.Timeout | undefined;
  const close = () => {
    unsubscribe();
    clearInterval(heartbeat);
    open.delete(reply);
    if (!res.writableEnded) res.end();
  };
  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 3000\n\n');
  open.add(reply);
  req.raw.once('close', close);
  res.once('close', close);
  heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
  try {
    const key = lastId ? await d.repo.keyOf(filter, lastId) : undefined;
    if (key) {
      for (const e of await d.repo.since({ ...filter, after: key }, REPLAY_MAX)) {
        write(e);
        sent.add(e.id);
      }
    }
  } catch (e) {
    req.log.error({ err: e, account: filter.accountId }, 'audit live tail catch-up failed');
    close();
    return;
  }
  const pending = backlog;
  backlog = undefined;
  for (const e of pending) write(e);
}

function typeMatches(types: AuditFilter['types'], type: string): boolean {
  if (!types) return true;
  return types.exact.includes(type) || types.prefixes.some((p) => type.startsWith(p));
}
