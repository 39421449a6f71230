// The API's OpenAPI document is the union of what each service generates from its own route
// schemas (`GET /openapi.json` on each service) and of the routes the gateway answers itself
// (connection info, this document, the reference), generated the same way, so the document cannot
// drift from validation. What belongs to the API as a whole (info, security, the groups) is declared
// here once.
import type { FastifyInstance } from 'fastify';
import { ApiPrefix, ApiTags } from '@twoway/contracts';

const DESCRIPTION = `Mutual-TLS authentication for MQTT device fleets: accounts, their connection settings, trust
anchors and their status, device credentials, API tokens and the audit trail.

**Authentication.** Every operation takes \`Authorization: Bearer <token>\`. \`twoway up\` prints where the
provider token is (\`$TWOWAY_DATA_DIR/bootstrap-token\`, or \`TWOWAY_BOOTSTRAP_TOKEN\`); create others with
\`POST /api/v1/accounts/{id}/tokens\`. A token reaches its own account and the accounts below it; any other
account answers \`404 ACCOUNT_NOT_FOUND\`, exactly as one that does not exist.

**Errors.** Every error is \`{ "error": { "code", "message" } }\` with the status of its code; match on
\`code\` (each operation lists the codes it can answer; the full table is docs/error-codes.md).

**Pages.** Lists answer \`{ items, nextCursor }\`; pass \`nextCursor\` as \`cursor\` for the next page.`;

interface Part {
  paths?: Record<string, unknown>;
  components?: { schemas?: Record<string, unknown> };
}

/** The upstreams' documents, then the gateway's own (`own`, from its route schemas). */
export async function mergeOpenApi(upstreams: URL[], own: Part): Promise<object> {
  const doc = {
    openapi: '3.0.3',
    info: { title: 'twoway API', version: '1.0.0', description: DESCRIPTION },
    servers: [{ url: '/' }],
    tags: ApiTags.map((t) => ({ ...t })),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'twoway API token',
          description: 'An API token of an account; its role (admin, operator, provisioner) says what it may do there and below.',
        },
      },
      schemas: {} as Record<string, unknown>,
    },
    security: [{ bearer: [] }],
    paths: {} as Record<string, unknown>,
  };
  const parts = await Promise.all(
    upstreams.map(async (u) => {
      try {
        const r = await fetch(new URL('/openapi.json', u), { signal: AbortSignal.timeout(3000) });
        return r.ok ? ((await r.json()) as Part) : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  for (const p of [...parts, own]) {
    Object.assign(doc.paths, p?.paths ?? {});
    Object.assign(doc.components.schemas, p?.components?.schemas ?? {});
  }
  return doc;
}

/** The start of this document, as the reference shows it for this operation. */
const DOCUMENT_EXAMPLE = {
  openapi: '3.0.3',
  info: { title: 'twoway API', version: '1.0.0' },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  paths: { [`${ApiPrefix}/whoami`]: { get: { operationId: 'whoami', tags: ['Tokens'], summary: 'Tell which token this is', responses: { 200: { description: 'OK' } } } } },
};

/** GET /api/v1/openapi.json: the merged document, answered without a token (it describes, it holds no data). */
export function registerOpenApi(app: FastifyInstance, upstreams: URL[]): void {
  app.get(
    `${ApiPrefix}/openapi.json`,
    {
      schema: {
        operationId: 'getOpenApiDocument',
        summary: 'Get this API document',
        description:
          'The whole REST API as OpenAPI 3.0.3 (this document), for client generators and tools. It is made from the schemas that validate ' +
          'requests, so it says what the running services accept. No token needed.',
        tags: ['Reference'],
        public: true,
        success: { description: 'The OpenAPI document', content: { 'application/json': { schema: { type: 'object', additionalProperties: true }, example: DOCUMENT_EXAMPLE } } },
      },
    },
    async () => mergeOpenApi(upstreams, app.apiDocument()),
  );
}
