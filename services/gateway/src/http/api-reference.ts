// The readable API reference at /api/v1/docs: Swagger UI (swagger-ui-dist) rendering the merged
// OpenAPI document, so it cannot drift from the schemas that validate requests. Everything the page
// loads comes from the gateway itself (the library's files from its installed package, our start
// script, the document at /api/v1/openapi.json): it works offline, and its policy allows nothing else.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { ApiPrefix } from '@twoway/contracts';

/** Where the page's files are served: outside /api (they are not operations), like the console's. */
export const ReferenceAssetsPath = '/api-reference';

/**
 * Scripts and styles from this origin only; no inline script (the start script is a file). Swagger UI
 * sets styles through the DOM (allowed) and draws its icons from data: URIs in its stylesheet.
 * connect-src 'self' lets it read the document and, with "Try it out", call this API and nothing else.
 */
export const REFERENCE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The library's files the page loads, by the name they are served under. */
const LIBRARY_FILES = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
} as const;

// Relative URLs: the page is /api/v1/docs, its document /api/v1/openapi.json.
// validatorUrl null: Swagger UI would otherwise ask an outside validator about the document.
// The document's operations are grouped by their tags, in the document's tag order.
const START_SCRIPT = `// Starts Swagger UI on the twoway API document (served by the gateway with the page).
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', window.location.href).href,
    dom_id: '#reference',
    deepLinking: true,
    validatorUrl: null,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    displayRequestDuration: true,
    tryItOutEnabled: false,
    withCredentials: false,
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>twoway API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ReferenceAssetsPath}/swagger-ui.css">
<link rel="stylesheet" href="${ReferenceAssetsPath}/reference.css">
</head>
<body>
<div id="reference"></div>
<noscript><p>The reference needs JavaScript. The document it shows is <a href="${ApiPrefix}/openapi.json">${ApiPrefix}/openapi.json</a> (OpenAPI 3.0.3).</p></noscript>
<script src="${ReferenceAssetsPath}/swagger-ui-bundle.js"></script>
<script src="${ReferenceAssetsPath}/start.js"></script>
</body>
</html>
`;

/** Our own few rules over the library's: long paths wrap instead of widening the page; on a phone a group's description goes below its name. */
const PAGE_CSS = `body { margin: 0; background: #fff; }
.swagger-ui .opblock-summary-path { word-break: break-all; }
.swagger-ui .wrapper { padding: 0 12px; box-sizing: border-box; }
@media (max-width: 640px) {
  .swagger-ui .opblock-summary-operation-id { display: none; }
  .swagger-ui .opblock-tag { flex-wrap: wrap; }
  .swagger-ui .opblock-tag small { flex-basis: 100%; padding: 0; }
}
`;

/** The installed swagger-ui-dist (resolved from here, so from node_modules next to a bundle too). */
const libraryDir = (): string => dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/**
 * GET /api/v1/docs and the files it loads. Answered without a token, like the document itself: it
 * holds no account data, and a reader signs in (Authorize) only to try an operation.
 */
export function registerApiReference(app: FastifyInstance): void {
  const dir = libraryDir();
  const files = new Map<string, Promise<Buffer>>();
  const security = { 'content-security-policy': REFERENCE_CSP, 'x-frame-options': 'DENY', 'cache-control': 'no-cache' };
  app.get(
    `${ApiPrefix}/docs`,
    {
      schema: {
        operationId: 'getApiReference',
        summary: 'Read the API reference',
        description:
          'This document rendered for people: every operation grouped by area, with its parameters, bodies, examples and error codes, and ' +
          '"Try it out" against this API with a token (Authorize). An HTML page for a browser; everything it loads comes from this origin. No token needed.',
        tags: ['Reference'],
        public: true,
        success: { description: 'The reference page', content: { 'text/html': { schema: { type: 'string' }, example: '<!doctype html>…' } } },
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').headers(security).send(PAGE),
  );
  // Not API operations (a library's files), so outside /api and out of the document.
  app.get(`${ReferenceAssetsPath}/start.js`, async (_req, reply) => reply.type('application/javascript; charset=utf-8').send(START_SCRIPT));
  app.get(`${ReferenceAssetsPath}/reference.css`, async (_req, reply) => reply.type('text/css; charset=utf-8').send(PAGE_CSS));
  app.get<{ Params: { file: string } }>(`${ReferenceAssetsPath}/:file`, async (req, reply) => {
    const type = Object.hasOwn(LIBRARY_FILES, req.params.file) ? LIBRARY_FILES[req.params.file as keyof typeof LIBRARY_FILES] : undefined;
    if (!type) return reply.callNotFound();
    // The library changes only with an install: the browser may keep it for a day.
    const file = req.params.file;
    if (!files.has(file)) files.set(file, readFile(join(dir, file)).catch((e: unknown) => (files.delete(file), Promise.reject(e))));
    return reply.type(type).header('cache-control', 'public, max-age=86400').send(await files.get(file));
  });
}
