// OpenAPI 3.0.3 from the routes a service registers: the same TypeBox (JSON Schema) objects that
// validate requests describe them, so the document cannot drift from the behaviour. The prose of
// each operation (summary, description, tags, error codes, examples) sits in its route's `schema`,
// next to the handler; fastify ignores these keys, this module reads them.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ErrorCodes, errorBody, type ErrorCode } from '@twoway/contracts';

/** What a route says about itself in the API reference (keys of its fastify `schema`). */
export interface RouteDoc {
  /** Unique across the whole API (the gateway merges every service's operations), e.g. `listCertificates`. */
  operationId?: string;
  /** One line, imperative: "List the certificates of an account". */
  summary?: string;
  /** What it does, who may call it (roles), and what a caller should know (CommonMark). */
  description?: string;
  /** Group(s) in the reference: names from `ApiTags` (libs/contracts). */
  tags?: string[];
  /** Error codes this route can answer besides those every route can (see `commonErrors`). */
  errors?: readonly ErrorCode[];
  /** Examples of the JSON request body and of the success response. */
  examples?: { request?: unknown; response?: unknown };
  /** The success response where `response` does not say it all: a status without a body, other media types. */
  success?: { status?: number; description?: string; content?: Record<string, { schema?: object; example?: unknown }> };
  /** Answered without a token (the API's own description): no bearer requirement, no authentication errors. */
  public?: boolean;
  /** Not an operation of its own, so not in the document: the gateway's forwarding of every path to its owner. */
  hide?: boolean;
}

declare module 'fastify' {
  // Declaration merging, as @fastify/swagger does: route schemas may carry their documentation.
  interface FastifySchema extends RouteDoc {}
  interface FastifyInstance {
    /** This server's part of the API document: every /api route registered so far (createHttpServer). */
    apiDocument(): object;
  }
}

interface Op {
  method: string;
  url: string;
  schema: (Record<string, unknown> & RouteDoc) | undefined;
}

/**
 * JSON Schema (as TypeBox writes it) → OpenAPI 3.0 schema object, which is a dialect of JSON Schema
 * draft 5: TypeBox's symbol keys and `$id` go, `const` becomes `enum`, a union with null becomes
 * `nullable`, a union of literals one `enum`, `patternProperties` (a record) `additionalProperties`,
 * and `examples` the single `example` (OpenAPI 3.0.3 §4.7.24 lists what a schema may hold).
 */
export function toOpenApiSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toOpenApiSchema);
  if (!s || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'const') out.enum = [v];
    else if (k === '$id' || k === '$schema') continue;
    else if (k === 'examples') out.example = Array.isArray(v) ? v[0] : v;
    else if (k === 'patternProperties') {
      const values = Object.values(v as Record<string, unknown>);
      out.additionalProperties = values.length === 1 ? toOpenApiSchema(values[0]) : true;
    } else out[k] = toOpenApiSchema(v);
  }
  if (Array.isArray(out.anyOf)) {
    let alts = out.anyOf as Record<string, unknown>[];
    if (alts.some((x) => x.type === 'null')) {
      alts = alts.filter((x) => x.type !== 'null');
      out.nullable = true;
    }
    const literals = alts.every((x) => Array.isArray(x.enum) && x.type === alts[0]?.type && Object.keys(x).every((k) => k === 'enum' || k === 'type'));
    if (alts.length === 1 || (alts.length > 1 && literals)) {
      delete out.anyOf;
      const merged = alts.length === 1 ? alts[0]! : { type: alts[0]!.type, enum: alts.flatMap((x) => x.enum as unknown[]) };
      for (const [k, v] of Object.entries(merged)) if (!(k in out)) out[k] = v;
    } else out.anyOf = alts;
  }
  return out;
}

const pathOf = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function collectRoutes(app: FastifyInstance): Op[] {
  const ops: Op[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m === 'HEAD' || !r.url.startsWith('/api/') || (r.schema as RouteDoc | undefined)?.hide) continue;
      ops.push({ method: m.toLowerCase(), url: r.url, schema: r.schema as Op['schema'] });
    }
  });
  return ops;
}

/**
 * Errors any route under /api can answer: every one but a public one authenticates first (401), may
 * find a dependency away (503) or fail (500); with parameters or a body it validates them (400), and
 * a body can be malformed JSON or too large.
 */
export function commonErrors(s: { params?: unknown; querystring?: unknown; body?: unknown; public?: boolean } & Record<string, unknown>): ErrorCode[] {
  return [
    ...(s.params || s.querystring || s.body ? (['VALIDATION_FAILED'] as const) : []),
    ...(s.body ? (['BAD_REQUEST', 'PAYLOAD_TOO_LARGE'] as const) : []),
    ...(s.public ? [] : (['UNAUTHENTICATED', 'TOKEN_EXPIRED'] as const)),
    'INTERNAL',
    'UNAVAILABLE',
  ];
}

/** One response per status, listing its codes, with an example body for each. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of new Set(codes)) {
    const status = ErrorCodes[c].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), c]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.map((c) => `\`${c}\`: ${ErrorCodes[c].message}`).join('\n\n'),
      content: {
        'application/json': {
          schema: { $ref: '#/components/schemas/Error' },
          examples: Object.fromEntries(list.map((c) => [c, { summary: ErrorCodes[c].message, value: errorBody(c) }])),
        },
      },
    };
  }
  return out;
}

/** The error body of every route: `{ "error": { "code", "message" } }`. */
export const ErrorSchema = {
  type: 'object',
  description: 'Every error answers with this body and the status of its code. Match on `code`; `message` is for people and may change.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ErrorCodes), description: 'Stable error code; the table of codes and statuses is in docs/error-codes.md.' },
        message: { type: 'string', description: 'What went wrong, in a sentence. Never holds a secret.' },
      },
    },
  },
  example: errorBody('CERT_NOT_FOUND'),
} as const;

const DEFAULT_SUCCESS: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'Done; no body' };

export function openApiDocument(service: string, ops: Op[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const s = op.schema ?? {};
    const parameters: unknown[] = [];
    for (const [where, key] of [['path', 'params'], ['query', 'querystring']] as const) {
      const obj = s[key] as { properties?: Record<string, { description?: string }>; required?: string[] } | undefined;
      for (const [name, schema] of Object.entries(obj?.properties ?? {})) {
        const { description, ...rest } = toOpenApiSchema(schema) as { description?: string };
        parameters.push({ name, in: where, required: where === 'path' || !!obj?.required?.includes(name), ...(description ? { description } : {}), schema: rest });
      }
    }
    for (const m of op.url.matchAll(/:([A-Za-z0-9_]+)/g)) {
      if (!parameters.some((p) => (p as { name: string }).name === m[1])) parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    parameters.sort((a, b) => Number((a as { in: string }).in !== 'path') - Number((b as { in: string }).in !== 'path'));

    const declared = (s.response ?? {}) as Record<string, unknown>;
    const successStatus = s.success?.status ?? Number(Object.keys(declared).find((c) => /^2\d\d$/.test(c)) ?? 200);
    const content: Record<string, unknown> = {};
    const jsonSchema = declared[String(successStatus)];
    if (jsonSchema) content['application/json'] = { schema: toOpenApiSchema(jsonSchema), ...(s.examples?.response !== undefined ? { example: s.examples.response } : {}) };
    for (const [type, c] of Object.entries(s.success?.content ?? {})) content[type] = { schema: c.schema ?? { type: 'string' }, ...(c.example !== undefined ? { example: c.example } : {}) };
    const responses: Record<string, unknown> = {
      [String(successStatus)]: { description: s.success?.description ?? DEFAULT_SUCCESS[successStatus] ?? 'OK', ...(Object.keys(content).length ? { content } : {}) },
      ...errorResponses([...commonErrors(s), ...(s.errors ?? [])]),
    };

    (paths[pathOf(op.url)] ??= {})[op.method] = {
      ...(s.operationId ? { operationId: s.operationId } : {}),
      tags: s.tags ?? [service],
      ...(s.summary ? { summary: s.summary } : {}),
      ...(s.description ? { description: s.description } : {}),
      ...(s.public ? { security: [] } : {}),
      parameters,
      ...(s.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toOpenApiSchema(s.body), ...(s.examples?.request !== undefined ? { example: s.examples.request } : {}) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: `twoway ${service}`, version: '1.0.0' },
    paths,
    components: { schemas: { Error: ErrorSchema } },
  };
}
