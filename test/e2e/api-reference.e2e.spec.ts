// The API document as served by the gateway in front of the real services: valid OpenAPI 3.0.3 for
// a standard validator (what client generators start from), every operation documented, and the
// readable reference at /api/v1/docs built from it without anything loaded from elsewhere.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ApiTags, ErrorCodes } from '@twoway/contracts';
import { System } from '@twoway/testing';

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface Document {
  openapi: string;
  tags: { name: string }[];
  security: unknown;
  components: { securitySchemes: Record<string, { type: string; scheme?: string; description?: string }> };
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
      if (!errors.some(([status]) => status === '401')) problems.push(`${key}: no 401`);
      for (const [status, r] of errors) {
        if (r.content?.['application/json']?.schema?.$ref !== '#/components/schemas/Error') problems.push(`${key}: ${status} is not the error body`);
      }
    }
    assert.deepEqual(problems, []);
    const ids = ops().map(({ op }) => op.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    assert.deepEqual([...new Set(ops().flatMap(({ op }) => op.tags ?? []))].sort(), [...known].sort(), 'every group has operations');
  });

  it('documents the bearer token security scheme for every operation', () => {
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.equal(doc.components.securitySchemes.bearer?.type, 'http');
    assert.equal(doc.components.securitySchemes.bearer?.scheme, 'bearer');
    assert.ok(doc.components.securitySchemes.bearer?.description);
  });

  it('serves a readable, self-contained reference: every operation under its group, with its errors', async () => {
    const r = await fetch(`${sys.apiUrl}/api/v1/docs`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await r.text();
    for (const t of ApiTags) assert.match(html, new RegExp(`<section class="tag" id="tag-${t.name}"><h2>${t.name}</h2>`));
    for (const { op } of ops()) assert.ok(html.includes(`<section class="op" id="${op.operationId}">`), `${op.operationId} missing`);
    assert.match(html, /<td>404<\/td><td><code>CERT_NOT_FOUND<\/code><\/td><td>/);
    assert.ok(html.includes(`<td>422</td><td><code>CERT_PRIVATE_KEY_REJECTED</code></td><td>${ErrorCodes.CERT_PRIVATE_KEY_REJECTED.message}</td>`));
    assert.doesNotMatch(html, /<script|<link|<img|\ssrc=|url\(/, 'nothing to fetch, nothing to run');
  });
});
