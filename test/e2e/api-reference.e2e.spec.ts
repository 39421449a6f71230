// The API document as served by the gateway in front of the real services: valid OpenAPI 3.0.3 for
// a standard validator (what client generators start from), every operation documented (the
// gateway's own routes too) with an example of every body and parameter, and the readable reference at /api/v1/docs rendering it in Chromium
// with nothing loaded from elsewhere. Screenshots go to test-results/api-reference/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ApiTags } from '@twoway/contracts';
import { System, tempDir } from '@twoway/testing';
import { launch, needsChromium, pageWidth } from '../browser/browser.js';

const shots = fileURLToPath(new URL('../../test-results/api-reference', import.meta.url));

/** A media type of a body: its schema, and an example (one, or several named). */
interface Media {
  schema?: { $ref?: string };
  example?: unknown;
  examples?: Record<string, unknown>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; description?: string; example?: unknown; schema?: { example?: unknown } }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
}
interface Document {
  openapi: string;
  tags: { name: string }[];
  security: unknown;
  components: { securitySchemes: Record<string, { type: string; scheme?: string; description?: string }>; schemas?: Record<string, { description?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

describe('API reference', { timeout: 180_000 }, () => {
  let sys: System;
  let doc: Document;
  const ops = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));

  before(async () => {
    sys = await System.start();
    const r = await fetch(`${sys.apiUrl}/api/v1/openapi.json`);
    assert.equal(r.status, 200);
    doc = (await r.json()) as Document;
  });
  after(async () => {
    await sys?.stop();
  });

  it('is valid OpenAPI 3.0.3 for @apidevtools/swagger-parser', async () => {
    assert.equal(doc.openapi, '3.0.3');
    // validate() dereferences in place: give it a copy. It throws with every error it found.
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('documents every operation: operationId, summary, description, a known tag, and its errors in the error format', () => {
    assert.ok(ops().length >= 20, `only ${ops().length} operations`);
    const known = new Set<string>(ApiTags.map((t) => t.name));
    const problems: string[] = [];
    for (const { key, op } of ops()) {
      if (!op.operationId) problems.push(`${key}: no operationId`);
      if (!op.summary) problems.push(`${key}: no summary`);
      if (!op.description) problems.push(`${key}: no description`);
      if (!op.tags?.length || !op.tags.every((t) => known.has(t))) problems.push(`${key}: tags ${JSON.stringify(op.tags)} not in ApiTags`);
      const errors = Object.entries(op.responses).filter(([status]) => /^[45]/.test(status));
      // Only the API's own description is public (security: []); every other operation takes a token.
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      if (isPublic !== ['GET /api/v1/openapi.json', 'GET /api/v1/docs'].includes(key)) problems.push(`${key}: public is ${isPublic}`);
      if (!isPublic && !errors.some(([status]) => status === '401')) problems.push(`${key}: no 401`);
      for (const [status, r] of errors) {
        if (r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') problems.push(`${key}: ${status} is not the error body`);
      }
    }
    assert.deepEqual(problems, []);
    const ids = ops().map(({ op }) => op.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.deepEqual([...new Set(ops().flatMap(({ op }) => op.tags ?? []))].sort(), [...known].sort(), 'every group has operations');
  });

  it('gives an example of every JSON body it takes or answers and of every parameter, and says what each parameter and shared schema is', () => {
    const problems: string[] = [];
    const exemplified = (m: Media) => m.example !== undefined || Object.keys(m.examples ?? {}).length > 0;
    for (const { key, op } of ops()) {
      for (const [type, m] of Object.entries(op.requestBody?.content ?? {})) if (/json/.test(type) && !exemplified(m)) problems.push(`${key}: request ${type} has no example`);
      for (const [status, r] of Object.entries(op.responses)) {
        for (const [type, m] of Object.entries(r.content ?? {})) if (/json/.test(type) && !exemplified(m)) problems.push(`${key}: ${status} ${type} has no example`);
      }
      for (const p of op.parameters ?? []) {
        if (!p.description) problems.push(`${key}: ${p.in} parameter ${p.name} has no description`);
        if (p.example === undefined && p.schema?.example === undefined) problems.push(`${key}: ${p.in} parameter ${p.name} has no example`);
      }
    }
    for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) if (!schema.description) problems.push(`components.schemas.${name} has no description`);
    assert.deepEqual(problems, []);
  });

  it('documents the bearer token security scheme for every operation', () => {
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.equal(doc.components.securitySchemes.bearer?.type, 'http');
    assert.equal(doc.components.securitySchemes.bearer?.scheme, 'bearer');
    assert.ok(doc.components.securitySchemes.bearer?.description);
  });

  it('has the routes the gateway answers itself, not only those of the services behind it', () => {
    const keys = ops().map((o) => o.key);
    for (const own of ['GET /api/v1/connection-info', 'GET /api/v1/openapi.json', 'GET /api/v1/docs']) assert.ok(keys.includes(own), `${own} missing`);
    assert.equal(keys.some((k) => k.includes('*')), false, 'the forwarding route is no operation');
  });

  it('renders the reference in Chromium: every group and operation, no console error, nothing fetched from elsewhere', { skip: needsChromium }, async (t) => {
    mkdirSync(shots, { recursive: true });
    const profile = await tempDir('twoway-chromium-');
    const context = await launch(profile.path, { width: 1280, height: 800 });
    t.after(async () => {
      await context.close();
      await profile[Symbol.asyncDispose]();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(sys.apiUrl).origin;
    const requests: string[] = [];
    const errors: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    context.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} from ${r.url()}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(String(e)));

    await page.goto(`${sys.apiUrl}/api/v1/docs`);
    const create = ops().find((o) => o.op.operationId === 'createCertificate')!.op;
    await page.getByText(create.summary!, { exact: true }).first().waitFor();
    for (const tag of ApiTags) await page.locator(`.opblock-tag[data-tag="${tag.name}"]`).waitFor();
    assert.equal(await page.locator('.opblock').count(), ops().length, 'one block per operation');
    // An operation opens with its description and its error codes.
    await page.locator('#operations-Certificates-createCertificate .opblock-summary-control').click();
    const opened = page.locator('#operations-Certificates-createCertificate');
    await opened.getByText('CERT_PRIVATE_KEY_REJECTED').first().waitFor();
    await page.screenshot({ path: `${shots}/1280-reference.png` });
    const [scroll, inner] = await pageWidth(page);
    assert.ok(scroll <= inner, `the page is ${scroll} px wide in a ${inner} px window`);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByText(create.summary!, { exact: true }).first().waitFor();
    await page.screenshot({ path: `${shots}/390-reference.png` });

    assert.deepEqual(errors, [], 'no console errors (a Content-Security-Policy violation is one)');
    const elsewhere = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    assert.deepEqual(elsewhere, [], 'every request goes to the gateway');
    assert.ok(requests.includes(`${origin}/api/v1/openapi.json`), 'the document was read from the gateway');
  });
});
