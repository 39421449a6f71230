import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { createLogger } from '@twoway/telemetry';
import { createHttpServer } from './server.js';
import { toOpenApiSchema } from './openapi.js';

it('documents every /api route with the schemas that validate it', async () => {
  const app = await createHttpServer({ logger: createLogger('t', 'silent'), readiness: () => ({ ready: true, checks: {} }), service: 'demo' });
  const Body = Type.Object({ name: Type.String({ minLength: 1 }), kind: Type.Literal('x'), note: Type.Union([Type.String(), Type.Null()]) });
  app.post('/api/v1/accounts/:id/things', { schema: { body: Body, querystring: Type.Object({ limit: Type.Optional(Type.Integer()) }), response: { 201: Body } } }, async (_r, reply) => reply.status(201).send({ name: 'a', kind: 'x', note: null }));
  app.get('/api/v1/accounts/:id/things/:thingId', async () => ({}));
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, any>> };
  assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/v1/accounts/{id}/things', '/api/v1/accounts/{id}/things/{thingId}']);
  const post = doc.paths['/api/v1/accounts/{id}/things']!.post;
  assert.deepEqual(post.requestBody.content['application/json'].schema.properties.kind, { type: 'string', enum: ['x'] });
  assert.deepEqual(post.requestBody.content['application/json'].schema.properties.note, { type: 'string', nullable: true });
  assert.deepEqual(post.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`), ['path:id', 'query:limit']);
  const get = doc.paths['/api/v1/accounts/{id}/things/{thingId}']!.get;
  assert.deepEqual(get.parameters.map((p: { name: string }) => p.name), ['id', 'thingId']);
  await app.close();
});

it("takes an operation's prose, error codes and examples from its route schema", async () => {
  const app = await createHttpServer({ logger: createLogger('t', 'silent'), readiness: () => ({ ready: true, checks: {} }) });
  const Thing = Type.Object({ id: Type.String() });
  app.post(
    '/api/v1/things',
    { schema: { operationId: 'createThing', summary: 'Create a thing', description: 'Makes one.', tags: ['Things'], body: Thing, response: { 201: Thing }, errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND'], examples: { request: { id: 'a' }, response: { id: 'a' } } } },
    async (_r, reply) => reply.status(201).send({ id: 'a' }),
  );
  app.delete('/api/v1/things/:id', { schema: { operationId: 'deleteThing', success: { status: 204, description: 'Gone.' } } }, async (_r, reply) => reply.status(204).send());
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, any>> };
  const post = doc.paths['/api/v1/things']!.post;
  assert.deepEqual([post.operationId, post.summary, post.description, post.tags], ['createThing', 'Create a thing', 'Makes one.', ['Things']]);
  assert.deepEqual(post.requestBody.content['application/json'].example, { id: 'a' });
  assert.deepEqual(post.responses['201'].content['application/json'].example, { id: 'a' });
  // The route's own codes plus those of every route with a body, one response per status.
  assert.deepEqual(Object.keys(post.responses), ['201', '400', '401', '403', '404', '413', '500', '503']);
  assert.deepEqual(Object.keys(post.responses['400'].content['application/json'].examples), ['VALIDATION_FAILED', 'BAD_REQUEST']);
  assert.deepEqual(post.responses['404'].content['application/json'].examples.ACCOUNT_NOT_FOUND.value, { error: { code: 'ACCOUNT_NOT_FOUND', message: 'Account not found.' } });
  const del = doc.paths['/api/v1/things/{id}']!.delete;
  assert.deepEqual(del.responses['204'], { description: 'Gone.' });
  await app.close();
});

it('leaves out a hidden route (a forwarder) and documents a public one without a token or authentication errors', async () => {
  const app = await createHttpServer({ logger: createLogger('t', 'silent'), readiness: () => ({ ready: true, checks: {} }) });
  app.all('/api/v1/*', { schema: { hide: true } }, async () => ({}));
  app.get('/api/v1/description', { schema: { operationId: 'describe', public: true } }, async () => ({}));
  app.get('/api/v1/secret', { schema: { operationId: 'secret' } }, async () => ({}));
  const doc = app.apiDocument() as { paths: Record<string, Record<string, any>> };
  assert.deepEqual(doc, (await app.inject({ method: 'GET', url: '/openapi.json' })).json(), 'the same document in-process and served');
  assert.deepEqual(Object.keys(doc.paths).sort(), ['/api/v1/description', '/api/v1/secret']);
  const open = doc.paths['/api/v1/description']!.get;
  assert.deepEqual(open.security, []);
  assert.deepEqual(Object.keys(open.responses), ['200', '500', '503']);
  const closed = doc.paths['/api/v1/secret']!.get;
  assert.equal(closed.security, undefined, 'the document-wide bearer requirement applies');
  assert.deepEqual(Object.keys(closed.responses), ['200', '401', '500', '503']);
  await app.close();
});

it('writes JSON Schema as OpenAPI 3.0 accepts it: a record is additionalProperties, literals one enum', () => {
  assert.deepEqual(toOpenApiSchema(Type.Record(Type.String(), Type.Unknown())), { type: 'object', additionalProperties: {} });
  assert.deepEqual(toOpenApiSchema(Type.Union([Type.Literal('a'), Type.Literal('b')], { description: 'd' })), { description: 'd', type: 'string', enum: ['a', 'b'] });
  assert.deepEqual(toOpenApiSchema(Type.Union([Type.Literal('a'), Type.Null()])), { nullable: true, type: 'string', enum: ['a'] });
  assert.deepEqual(toOpenApiSchema(Type.String({ examples: ['x', 'y'] })), { type: 'string', example: 'x' });
});
