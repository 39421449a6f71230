// A readable API reference rendered from the merged OpenAPI document (so it cannot drift from the
// schemas that validate requests). Served at /api/v1/docs; plain HTML, no scripts, works offline.
interface Op {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const json = (v: unknown) => `<pre>${esc(JSON.stringify(v, null, 2))}</pre>`;

export function renderApiReference(doc: { info?: { title?: string }; paths: Record<string, Record<string, Op>> }): string {
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? []).map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''})</li>`).join('');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {})
        .filter(([code]) => code !== 'default')
        .map(([code, r]) => `<h4>${esc(code)}</h4>${r.content?.['application/json']?.schema ? json(r.content['application/json'].schema) : ''}`)
        .join('');
      sections.push(
        `<section id="${esc(`${method}-${path}`)}"><h3><span class="m">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>` +
          (op.summary ? `<p>${esc(op.summary)}</p>` : '') +
          (params ? `<h4>Parameters</h4><ul>${params}</ul>` : '') +
          (body ? `<h4>Request body</h4>${json(body)}` : '') +
          responses +
          `<p class="err">Errors: <code>{ "error": { "code", "message" } }</code> — see docs/error-codes.md.</p></section>`,
      );
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info?.title ?? 'twoway API')} — reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2937}
h1{font-size:1.6rem}section{border-top:1px solid #e5e7eb;padding:.5rem 0}h3{font-size:1.05rem}
.m{display:inline-block;min-width:4.5rem;font:600 .8rem ui-monospace,monospace;background:#eef2ff;color:#3730a3;border-radius:4px;padding:.1rem .4rem}
pre{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:.6rem;overflow:auto;font-size:12px}.err{color:#6b7280;font-size:.9rem}</style>
</head><body><h1>${esc(doc.info?.title ?? 'twoway API')} reference</h1>
<p>Every route takes <code>Authorization: Bearer &lt;token&gt;</code>. Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
${sections.join('\n')}</body></html>`;
}
