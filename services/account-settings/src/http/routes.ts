// REST routes of account-settings under /api/v1/accounts: accounts (a tree), settings, device
// credentials and API tokens. Every account-scoped route goes through `authorize` (libs/http): an
// account outside the token's subtree answers 404 ACCOUNT_NOT_FOUND, a role that may not act 403.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import {
  Account,
  WhoAmI,
  CreateAccountBody,
  CreateCredentialBody,
  CreateTokenBody,
  CreatedToken,
  Credential,
  Id,
  PatchCredentialBody,
  Settings,
  SettingsPatch,
  TokenInfo,
  type Principal,
} from '@twoway/contracts';
import { authorize, bearerToken, type Resolver } from '@twoway/http';
import { settingsOf, type AccountStore } from '../db/account-store.js';
import { actorOf } from '../domain/events.js';
import { mayGrant } from '../domain/tokens.js';
import { hashPassword } from '../domain/password-hash.js';
import type { CredentialChecker } from '../credential-check.js';
import { AccountNotFoundError, BadRequestError, ForbiddenError } from '../errors.js';

const AccountParams = Type.Object({ id: Id });
const CredentialParams = Type.Object({ id: Id, credId: Id });
const TokenParams = Type.Object({ id: Id, tokenId: Id });
const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});
const ChildrenQuery = Type.Object({ ...PageQuery.properties, recursive: Type.Optional(Type.Boolean()) });
const pageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

type Params = { id: string; credId?: string; tokenId?: string };

export function registerRoutes(app: FastifyInstance, d: { store: AccountStore; resolver: Resolver; credentials: CredentialChecker }): void {
  const { store, resolver, credentials } = d;

  // Authenticate before the body is validated, so a request without a valid token learns nothing
  // about the route's schema (401, not 400).
  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/api/v1/')) req.principal = await resolver.principal(bearerToken(req));
  });
  const principalOf = (req: FastifyRequest): Principal => req.principal!;

  // ---- who am I: the console and the CLI learn the token's account and role -----------------
  app.get('/api/v1/whoami', { schema: { response: { 200: WhoAmI } } }, async (req) => {
    const principal = principalOf(req);
    const [account] = await resolver.ancestry(principal.accountId);
    return { principal, account };
  });

  // ---- accounts -----------------------------------------------------------------------------
  app.post('/api/v1/accounts', { schema: { body: CreateAccountBody, response: { 201: Account } } }, async (req, reply) => {
    const body = req.body as CreateAccountBody;
    const parentId = body.parentId ?? principalOf(req).accountId;
    const { principal } = await authorize(req, resolver, parentId, 'write');
    const account = await store.createAccount({ name: body.name, parentId }, actorOf(principal));
    return reply.status(201).send(account);
  });

  app.get('/api/v1/accounts/:id', { schema: { params: AccountParams, response: { 200: Account } } }, async (req) => {
    const { id } = req.params as Params;
    const { ancestry } = await authorize(req, resolver, id, 'read');
    return ancestry[0];
  });

  app.get('/api/v1/accounts/:id/children', { schema: { params: AccountParams, querystring: ChildrenQuery, response: { 200: pageOf(Account) } } }, async (req) => {
    const { id } = req.params as Params;
    await authorize(req, resolver, id, 'read');
    const q = req.query as { limit?: number; cursor?: string; recursive?: boolean };
    return store.children(id, q);
  });

  // ---- settings -----------------------------------------------------------------------------
  app.get('/api/v1/accounts/:id/settings', { schema: { params: AccountParams, response: { 200: Settings } } }, async (req) => {
    const { id } = req.params as Params;
    await authorize(req, resolver, id, 'read');
    const row = await store.accountRow(id);
    if (!row) throw new AccountNotFoundError(id);
    return settingsOf(row);
  });

  app.put('/api/v1/accounts/:id/settings', { schema: { params: AccountParams, body: SettingsPatch, response: { 200: Settings } } }, async (req) => {
    const { id } = req.params as Params;
    const { principal } = await authorize(req, resolver, id, 'write');
    return store.updateSettings(id, req.body as SettingsPatch, principal, actorOf(principal));
  });

  // ---- credentials --------------------------------------------------------------------------
  app.post('/api/v1/accounts/:id/credentials', { schema: { params: AccountParams, body: CreateCredentialBody, response: { 201: Credential } } }, async (req, reply) => {
    const { id } = req.params as Params;
    const { principal } = await authorize(req, resolver, id, 'write');
    const body = req.body as CreateCredentialBody;
    const passwordHash = await hashPassword(body.password);
    const cred = await store.createCredential(
      id,
      { username: body.username, passwordHash, enabled: body.enabled ?? true, expiresAt: body.expiresAt ? new Date(body.expiresAt) : null },
      actorOf(principal),
    );
    credentials.passwordSet(cred.id, passwordHash, body.password);
    return reply.status(201).send(cred);
  });

  app.get('/api/v1/accounts/:id/credentials', { schema: { params: AccountParams, querystring: PageQuery, response: { 200: pageOf(Credential) } } }, async (req) => {
    const { id } = req.params as Params;
    await authorize(req, resolver, id, 'read');
    return store.listCredentials(id, req.query as { limit?: number; cursor?: string });
  });

  app.patch('/api/v1/accounts/:id/credentials/:credId', { schema: { params: CredentialParams, body: PatchCredentialBody, response: { 200: Credential } } }, async (req) => {
    const { id, credId } = req.params as Required<Params>;
    const { principal } = await authorize(req, resolver, id, 'write');
    const body = req.body as PatchCredentialBody;
    const set = body.password === undefined ? undefined : { password: body.password, passwordHash: await hashPassword(body.password) };
    const cred = await store.updateCredential(
      id,
      credId,
      {
        ...(set ? { passwordHash: set.passwordHash } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        ...(body.expiresAt !== undefined ? { expiresAt: body.expiresAt === null ? null : new Date(body.expiresAt) } : {}),
      },
      actorOf(principal),
    );
    if (set) credentials.passwordSet(credId, set.passwordHash, set.password);
    else credentials.credentialChanged(credId);
    return cred;
  });

  app.delete('/api/v1/accounts/:id/credentials/:credId', { schema: { params: CredentialParams } }, async (req, reply) => {
    const { id, credId } = req.params as Required<Params>;
    const { principal } = await authorize(req, resolver, id, 'write');
    await store.deleteCredential(id, credId, actorOf(principal));
    credentials.credentialChanged(credId);
    return reply.status(204).send();
  });

  // ---- tokens -------------------------------------------------------------------------------
  app.post('/api/v1/accounts/:id/tokens', { schema: { params: AccountParams, body: CreateTokenBody, response: { 201: CreatedToken } } }, async (req, reply) => {
    const { id } = req.params as Params;
    const { principal } = await authorize(req, resolver, id, 'write');
    const body = req.body as CreateTokenBody;
    if (!mayGrant(principal.role, body.role)) throw new ForbiddenError(`role ${principal.role} may not create a ${body.role} token`);
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) throw new BadRequestError('expiresAt must be in the future');
    const { info, token } = await store.createToken(id, { name: body.name, role: body.role, expiresAt }, actorOf(principal));
    return reply.status(201).send({ ...info, token });
  });

  app.get('/api/v1/accounts/:id/tokens', { schema: { params: AccountParams, querystring: PageQuery, response: { 200: pageOf(TokenInfo) } } }, async (req) => {
    const { id } = req.params as Params;
    await authorize(req, resolver, id, 'read');
    return store.listTokens(id, req.query as { limit?: number; cursor?: string });
  });

  app.delete('/api/v1/accounts/:id/tokens/:tokenId', { schema: { params: TokenParams } }, async (req, reply) => {
    const { id, tokenId } = req.params as Required<Params>;
    const { principal } = await authorize(req, resolver, id, 'write');
    await store.revokeToken(id, tokenId, actorOf(principal));
    return reply.status(204).send();
  });
}

