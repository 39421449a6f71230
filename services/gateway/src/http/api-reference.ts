// A readable API reference rendered from the merged OpenAPI document (so it cannot drift from the
// schemas that validate requests). Served at /api/v1/docs: one self-contained HTML page, no scripts,
// no fonts or styles from elsewhere, so it works offline and under a `default-src 'none'` policy.
interface Schema {
  $ref?: string;
  type?: string;
  description?: string;
  enum?: unknown[];
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  minProperties?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: boolean | Schema;
}
interface Media {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}
interface Response {
  description?: string;
  content?: Record<string, Media>;
}
interface Op {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, Response>;
}
export interface ApiDocument {
  info?: { title?: string; description?: string; version?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Op>>;
  components?: { schemas?: Record<string, Schema> };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** The little CommonMark the descriptions use: paragraphs, `code` and **strong**. Escaped first. */
const md = (s: string | undefined): string =>
  (s ?? '')
    .split(/\n\s*\n/)
    .filter((p) => p.trim())
    .map((p) => `<p>${esc(p.trim()).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')}</p>`)
    .join('');
const pre = (v: unknown) => `<pre>${esc(typeof v === 'string' ? v : JSON.stringify(v, null, 2))}</pre>`;
const anchor = (method: string, path: string, op: Op) => op.operationId ?? `${method}-${path}`.replace(/[^A-Za-z0-9_-]+/g, '-');

function resolve(doc: ApiDocument, s: Schema | undefined): Schema | undefined {
  const name = s?.$ref?.replace('#/components/schemas/', '');
  return name ? (doc.components?.schemas?.[name] ?? s) : s;
}

/** `string (date-time)`, `"VALID" | "SUSPENDED"`, `array of object`, `… or null`. */
function typeOf(doc: ApiDocument, raw: Schema | undefined): string {
  const s = resolve(doc, raw);
  if (!s) return 'any';
  let t: string;
  if (s.enum) t = s.enum.map((v) => JSON.stringify(v)).join(' | ');
  else if (s.anyOf) t = s.anyOf.map((x) => typeOf(doc, x)).join(' or ');
  else if (s.type === 'array') t = `array of ${typeOf(doc, s.items)}`;
  else t = `${s.type ?? 'any'}${s.format ? ` (${s.format})` : ''}`;
  return s.nullable ? `${t} or null` : t;
}

function constraints(s: Schema): string {
  const c: string[] = [];
  if (s.minLength !== undefined) c.push(`min length ${s.minLength}`);
  if (s.maxLength !== undefined) c.push(`max length ${s.maxLength}`);
  if (s.minimum !== undefined) c.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) c.push(`≤ ${s.maximum}`);
  if (s.maxItems !== undefined) c.push(`at most ${s.maxItems} items`);
  if (s.pattern) c.push(`pattern <code>${esc(s.pattern)}</code>`);
  if (s.additionalProperties === false) c.push('no other properties');
  return c.join(', ');
}

/** One row per property, nested objects (and arrays of objects) indented below their parent. */
function schemaRows(doc: ApiDocument, raw: Schema | undefined, depth = 0, seen = new Set<Schema>()): string[] {
  const s = resolve(doc, raw);
  if (!s || seen.has(s) || depth > 6) return [];
  seen.add(s);
  const target = s.type === 'array' ? resolve(doc, s.items) : s;
  const alternatives = target?.anyOf?.map((x) => resolve(doc, x)).filter((x): x is Schema => !!x?.properties) ?? [];
  const rows: string[] = [];
  for (const alt of alternatives.length ? alternatives : [target]) {
    for (const [name, p] of Object.entries(alt?.properties ?? {})) {
      const ps = resolve(doc, p)!;
      const info = [md(ps.description ?? p.description).replace(/^<p>|<\/p>$/g, ''), constraints(ps)].filter(Boolean).join('<br>');
      rows.push(
        `<tr><td style="padding-left:${0.4 + depth * 1.2}rem"><code>${esc(name)}</code></td><td>${esc(typeOf(doc, p))}</td><td>${alt?.required?.includes(name) ? 'yes' : ''}</td><td>${info}</td></tr>`,
        ...schemaRows(doc, p, depth + 1, seen),
      );
    }
  }
  seen.delete(s);
  return rows;
}

function schemaBlock(doc: ApiDocument, s: Schema | undefined): string {
  const rows = schemaRows(doc, s);
  if (rows.length) return `<table><thead><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return s ? `<p>${esc(typeOf(doc, s))}</p>` : '';
}

function mediaBlock(doc: ApiDocument, type: string, m: Media): string {
  const example = m.example !== undefined ? `<details open><summary>example</summary>${pre(m.example)}</details>` : '';
  return `<p class="media"><code>${esc(type)}</code></p>${type === 'application/json' ? schemaBlock(doc, m.schema) : ''}${example}`;
}

function operation(doc: ApiDocument, method: string, path: string, op: Op): string {
  const params = op.parameters ?? [];
  const paramTable = params.length
    ? `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr></thead><tbody>${params
        .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${esc(typeOf(doc, p.schema))}</td><td>${p.required ? 'yes' : ''}</td><td>${[md(p.description).replace(/^<p>|<\/p>$/g, ''), p.schema ? constraints(p.schema) : ''].filter(Boolean).join('<br>')}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const body = Object.entries(op.requestBody?.content ?? {})
    .map(([type, m]) => mediaBlock(doc, type, m))
    .join('');
  const responses = Object.entries(op.responses ?? {});
  const success = responses
    .filter(([code]) => /^2/.test(code))
    .map(([code, r]) => `<h4>Response ${esc(code)}</h4>${md(r.description)}${Object.entries(r.content ?? {}).map(([type, m]) => mediaBlock(doc, type, m)).join('')}`)
    .join('');
  const errorRows = responses
    .filter(([code]) => !/^2/.test(code))
    .flatMap(([code, r]) => {
      const examples = Object.entries(r.content?.['application/json']?.examples ?? {});
      return examples.length
        ? examples.map(([name, e]) => `<tr><td>${esc(code)}</td><td><code>${esc(name)}</code></td><td>${esc(e.summary ?? '')}</td></tr>`)
        : [`<tr><td>${esc(code)}</td><td></td><td>${md(r.description).replace(/^<p>|<\/p>$/g, '')}</td></tr>`];
    });
  const errors = errorRows.length
    ? `<h4>Errors</h4><p>Body <code>{ "error": { "code", "message" } }</code>.</p><table><thead><tr><th>status</th><th>code</th><th>meaning</th></tr></thead><tbody>${errorRows.join('')}</tbody></table>`
    : '';
  return (
    `<section class="op" id="${esc(anchor(method, path, op))}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>` +
    (op.summary ? `<p class="summary">${esc(op.summary)}</p>` : '') +
    md(op.description) +
    paramTable +
    (body ? `<h4>Request body</h4>${body}` : '') +
    success +
    errors +
    `</section>`
  );
}

export function renderApiReference(doc: ApiDocument): string {
  const title = doc.info?.title ?? 'twoway API';
  // Group by the first tag, in the document's tag order; untagged operations come last.
  const groups = new Map<string, { description?: string; ops: [string, string, Op][] }>();
  for (const t of doc.tags ?? []) groups.set(t.name, { description: t.description, ops: [] });
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'Other';
      if (!groups.has(tag)) groups.set(tag, { ops: [] });
      groups.get(tag)!.ops.push([method, path, op]);
    }
  }
  const used = [...groups].filter(([, g]) => g.ops.length);
  const toc = used
    .map(([name, g]) => `<li><a href="#tag-${esc(name)}">${esc(name)}</a><ul>${g.ops.map(([m, p, op]) => `<li><a href="#${esc(anchor(m, p, op))}"><span class="m ${esc(m)}">${esc(m.toUpperCase())}</span> ${esc(op.summary ?? p)}</a></li>`).join('')}</ul></li>`)
    .join('');
  const sections = used
    .map(([name, g]) => `<section class="tag" id="tag-${esc(name)}"><h2>${esc(name)}</h2>${md(g.description)}${g.ops.map(([m, p, op]) => operation(doc, m, p, op)).join('\n')}</section>`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} — reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1f2937;display:flex}
nav{position:sticky;top:0;height:100vh;overflow:auto;width:18rem;flex:none;border-right:1px solid #e5e7eb;padding:1rem;font-size:.85rem;box-sizing:border-box}
nav ul{list-style:none;padding-left:.6rem;margin:.2rem 0}nav a{color:#1f2937;text-decoration:none}nav a:hover{text-decoration:underline}
main{max-width:960px;padding:1rem 2rem;min-width:0}h1{font-size:1.6rem}h2{border-bottom:2px solid #c7d2fe;padding-bottom:.2rem;margin-top:2.5rem}
section.op{border-top:1px solid #e5e7eb;padding:.5rem 0 1rem}h3{font-size:1.05rem}h4{margin:1rem 0 .3rem;font-size:.95rem}.summary{font-weight:600}
.m{display:inline-block;min-width:3.6rem;text-align:center;font:600 .75rem ui-monospace,monospace;background:#eef2ff;color:#3730a3;border-radius:4px;padding:.1rem .3rem}
.m.post{background:#dcfce7;color:#166534}.m.put,.m.patch{background:#fef9c3;color:#854d0e}.m.delete{background:#fee2e2;color:#991b1b}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.3rem 0}th,td{border:1px solid #e5e7eb;padding:.25rem .4rem;text-align:left;vertical-align:top}th{background:#f9fafb}
pre{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:.6rem;overflow:auto;font-size:12px;white-space:pre-wrap;word-break:break-all}
code{font-family:ui-monospace,monospace;font-size:.9em}.media{margin:.3rem 0;color:#6b7280}summary{cursor:pointer;color:#6b7280;font-size:.85rem}</style>
</head><body><nav><strong>${esc(title)}</strong><ul>${toc}</ul></nav><main><h1>${esc(title)} reference${doc.info?.version ? ` <small>${esc(doc.info.version)}</small>` : ''}</h1>
${md(doc.info?.description)}
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.0.3).</p>
${sections}</main></body></html>`;
}
