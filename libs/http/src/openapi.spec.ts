import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { createLogger } from '@twoway/telemetry';
import { createHttpServer } from './server.js';

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
