// OpenAPI 3 from the routes a service registers: the same TypeBox (JSON Schema) objects that
// validate requests describe them, so the document cannot drift from the behaviour.
import type { FastifyInstance, RouteOptions } from 'fastify';

interface Op {
  method: string;
  url: string;
  schema: Record<string, unknown> | undefined;
}

/** JSON Schema → OpenAPI 3.0 schema: drop TypeBox's symbol keys, turn `const` into `enum`. */
function toOpenApi(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toOpenApi);
  if (!s || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'const') out.enum = [v];
    else if (k === '$id' || k === '$schema') continue;
    else out[k] = toOpenApi(v);
  }
  if (Array.isArray(out.anyOf) && (out.anyOf as { type?: string }[]).some((x) => x.type === 'null')) {
    const rest = (out.anyOf as { type?: string }[]).filter((x) => x.type !== 'null');
    if (rest.length === 1) {
      delete out.anyOf;
      Object.assign(out, rest[0], { nullable: true });
    } else out.anyOf = rest;
  }
  return out;
}

const pathOf = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function collectRoutes(app: FastifyInstance): Op[] {
  const ops: Op[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m === 'HEAD' || !r.url.startsWith('/api/')) continue;
      ops.push({ method: m.toLowerCase(), url: r.url, schema: r.schema as Record<string, unknown> | undefined });
    }
  });
  return ops;
}

export function openApiDocument(service: string, ops: Op[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const s = op.schema ?? {};
    const parameters: unknown[] = [];
    for (const [where, key] of [['path', 'params'], ['query', 'querystring']] as const) {
      const obj = s[key] as { properties?: Record<string, unknown>; required?: string[] } | undefined;
      for (const [name, schema] of Object.entries(obj?.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || !!obj?.required?.includes(name), schema: toOpenApi(schema) });
      }
    }
    for (const m of op.url.matchAll(/:([A-Za-z0-9_]+)/g)) {
      if (!parameters.some((p) => (p as { name: string }).name === m[1])) parameters.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    parameters.sort((a, b) => Number((a as { in: string }).in !== 'path') - Number((b as { in: string }).in !== 'path'));
    const responses: Record<string, unknown> = {};
    const resp = (s.response ?? {}) as Record<string, unknown>;
    for (const [code, schema] of Object.entries(resp)) responses[code] = { description: `${code}`, content: { 'application/json': { schema: toOpenApi(schema) } } };
    responses.default = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    (paths[pathOf(op.url)] ??= {})[op.method] = {
      tags: [service],
      summary: (s.summary as string) ?? undefined,
      description: (s.description as string) ?? undefined,
      parameters,
      ...(s.body ? { requestBody: { required: true, content: { 'application/json': { schema: toOpenApi(s.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: `twoway ${service}`, version: '1.0.0' },
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  };
}
