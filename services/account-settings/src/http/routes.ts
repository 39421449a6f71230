// REST routes of account-settings under /api/v1/accounts: accounts (a tree), settings, device
// credentials and API tokens. Every account-scoped route goes through `authorize` (libs/http): an
// account outside the token's subtree answers 404 ACCOUNT_NOT_FOUND, a role that may not act 403.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  Account,
  WhoAmI,
  CreateAccountBody,
  CreateCredentialBody,
  CreateTokenBody,
  CreatedToken,
  Credential,
  PathParams,
  IdPrefix,
  PatchCredentialBody,
  Settings,
  SettingsPatch,
  TokenInfo,
  TopicRules,
  type Principal,
} from '@twoway/contracts';
import { authorize, bearerToken, type Resolver } from '@twoway/http';
import { settingsOf, type AccountStore } from '../db/account-store.js';
import { actorOf } from '../domain/events.js';
import { mayGrant } from '../domain/tokens.js';
import { hashPassword } from '../domain/password-hash.js';
import type { CredentialChecker } from '../credential-check.js';
import { AccountNotFoundError, BadRequestError, ForbiddenError } from '../errors.js';

const AccountParams = Type.Object({ id: PathParams.id });
const CredentialParams = Type.Object({ id: PathParams.id, credId: PathParams.credId });
const TokenParams = Type.Object({ id: PathParams.id, tokenId: PathParams.tokenId });
const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Page size (default 100).', examples: [100] })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'The `nextCursor` of the previous page.', examples: ['e4d3c2b1-0a9f-4e8d-8c7b-6a5f4e3d2c1b'] })),
  idPrefix: Type.Optional(IdPrefix),
});
const ChildrenQuery = Type.Object({
  ...PageQuery.properties,
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only accounts with exactly this name.', examples: ['Acme Berlin'] })),
  recursive: Type.Optional(Type.Boolean({ description: 'The whole subtree (breadth first, at most 10,000 accounts, in one page) instead of the direct children.', examples: [true] })),
});
const CredentialQuery = Type.Object({ ...PageQuery.properties, username: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Only the credential with exactly this username.', examples: ['sensor-17'] })) });
const TokenQuery = Type.Object({ ...PageQuery.properties, name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Only tokens with exactly this name.', examples: ['Factory PKI'] })) });
type ChildrenQuery = Static<typeof ChildrenQuery>;
type CredentialQuery = Static<typeof CredentialQuery>;
type TokenQuery = Static<typeof TokenQuery>;
const pageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last.' }) });

type Params = { id: string; credId?: string; tokenId?: string };

// Examples for the API reference.
const ACCOUNT: Account = { id: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30', name: 'Acme Berlin', parentId: 'provider', createdAt: '2026-11-23T10:00:00.000Z' };
const SETTINGS: Settings = { tls: { enabled: true }, mutualTls: { available: true, enabled: true }, identity: { bindCertificateTo: 'clientId', credentialLookup: 'username' } };
const CREDENTIAL: Credential = { id: 'e4d3c2b1-0a9f-4e8d-8c7b-6a5f4e3d2c1b', accountId: ACCOUNT.id, username: 'sensor-17', enabled: true, expiresAt: null, createdAt: '2026-11-23T10:05:00.000Z', lastChain: null, requireCertificate: true };
const TOKEN: TokenInfo = { id: '9f8e7d6c5b4a39281706f5e4', accountId: ACCOUNT.id, name: 'Factory PKI', role: 'provisioner', expiresAt: null, revokedAt: null, createdAt: '2026-11-23T10:10:00.000Z' };
const TOPIC_RULES: TopicRules = {
  rules: [
    { effect: 'deny', action: 'both', filter: 'devices/${clientId}/admin/#' },
    { effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' },
    { effect: 'allow', action: 'subscribe', filter: 'broadcast/#' },
  ],
};
/** Roles in the descriptions: `read` is every role, `write` admin only (libs/http `roleAllows`). */
const READ = 'Roles: all (admin, operator, provisioner).';
const WRITE = 'Roles: admin.';

export function registerRoutes(app: FastifyInstance, d: { store: AccountStore; resolver: Resolver; credentials: CredentialChecker }): void {
  const { store, resolver, credentials } = d;

  // Authenticate before the body is validated, so a request without a valid token learns nothing
  // about the route's schema (401, not 400).
  app.addHook('onRequest', async (req) => {
    if (req.url.startsWith('/api/v1/')) req.principal = await resolver.principal(bearerToken(req));
  });
  const principalOf = (req: FastifyRequest): Principal => req.principal!;

  // ---- who am I: the console and the CLI learn the token's account and role -----------------
  app.get(
    '/api/v1/whoami',
    {
      schema: {
        operationId: 'whoami',
        summary: 'Tell which token this is',
        description: "The calling token's principal (id, name, role, account) and its account. The console and the CLI use it to find the account to act on by default. Roles: all.",
        tags: ['Tokens'],
        response: { 200: WhoAmI },
        examples: { response: { principal: { tokenId: TOKEN.id, name: TOKEN.name, accountId: ACCOUNT.id, role: 'provisioner', provider: false }, account: ACCOUNT } },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const [account] = await resolver.ancestry(principal.accountId);
      return { principal, account };
    },
  );

  // ---- accounts -----------------------------------------------------------------------------
  app.post(
    '/api/v1/accounts',
    {
      schema: {
        operationId: 'createAccount',
        summary: 'Create a sub-account',
        description: `Creates an account under \`parentId\` (default: the token's own account). Names are unique among siblings. A sub-account inherits the trust anchors of the accounts above it. ${WRITE}`,
        tags: ['Accounts'],
        body: CreateAccountBody,
        response: { 201: Account },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'ACCOUNT_DUPLICATE'],
        examples: { request: { name: 'Acme Berlin', parentId: 'provider' }, response: ACCOUNT },
      },
    },
    async (req, reply) => {
      const body = req.body as CreateAccountBody;
      const parentId = body.parentId ?? principalOf(req).accountId;
      const { principal } = await authorize(req, resolver, parentId, 'write');
      const account = await store.createAccount({ name: body.name, parentId }, actorOf(principal));
      return reply.status(201).send(account);
    },
  );

  app.get(
    '/api/v1/accounts/:id',
    { schema: { operationId: 'getAccount', summary: 'Show an account', description: READ, tags: ['Accounts'], params: AccountParams, response: { 200: Account }, errors: ['ACCOUNT_NOT_FOUND'], examples: { response: ACCOUNT } } },
    async (req) => {
      const { id } = req.params as Params;
      const { ancestry } = await authorize(req, resolver, id, 'read');
      return ancestry[0];
    },
  );

  app.get(
    '/api/v1/accounts/:id/children',
    {
      schema: {
        operationId: 'listChildAccounts',
        summary: 'List the sub-accounts of an account',
        description: `The direct children, a page at a time; with \`recursive=true\` the whole subtree. \`name\` and \`idPrefix\` find one account by its name or the start of its id. ${READ}`,
        tags: ['Accounts'],
        params: AccountParams,
        querystring: ChildrenQuery,
        response: { 200: pageOf(Account) },
        errors: ['ACCOUNT_NOT_FOUND'],
        examples: { response: { items: [ACCOUNT], nextCursor: null } },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      await authorize(req, resolver, id, 'read');
      return store.children(id, req.query as ChildrenQuery);
    },
  );

  // ---- settings -----------------------------------------------------------------------------
  app.get(
    '/api/v1/accounts/:id/settings',
    {
      schema: {
        operationId: 'getSettings',
        summary: "Show an account's connection settings",
        description: `\`tls\`: plain TLS with username and password. \`mutualTls\`: client certificates; \`available\` is the provider's to grant. With both enabled the broker tries mutual TLS first and falls back to credentials. \`identity\`: whether the certificate's CN or a SAN must equal the client id and/or username, and how credentials are looked up. \`topicRules\` (absent when none): the account's topic permissions, as \`GET .../topic-rules\` shows them. ${READ}`,
        tags: ['Settings'],
        params: AccountParams,
        response: { 200: Settings },
        errors: ['ACCOUNT_NOT_FOUND'],
        examples: { response: SETTINGS },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      await authorize(req, resolver, id, 'read');
      const row = await store.accountRow(id);
      if (!row) throw new AccountNotFoundError(id);
      return settingsOf(row);
    },
  );

  app.put(
    '/api/v1/accounts/:id/settings',
    {
      schema: {
        operationId: 'updateSettings',
        summary: "Change an account's connection settings",
        description: `Send only the parts that change; the answer is the whole new settings. Changing them ends the live sessions they no longer allow. \`mutualTls.available\` is changed by provider tokens only (\`PROVIDER_ONLY\`); mutual TLS cannot be enabled before it is available (\`MTLS_NOT_AVAILABLE\`). \`topicRules\`, when sent, replaces the whole list as \`PUT .../topic-rules\` does. ${WRITE}`,
        tags: ['Settings'],
        params: AccountParams,
        body: SettingsPatch,
        response: { 200: Settings },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'PROVIDER_ONLY', 'MTLS_NOT_AVAILABLE', 'TOPIC_RULES_INVALID'],
        examples: { request: { mutualTls: { enabled: true }, identity: { bindCertificateTo: 'clientId' } }, response: SETTINGS },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      const { principal } = await authorize(req, resolver, id, 'write');
      return store.updateSettings(id, req.body as SettingsPatch, principal, actorOf(principal));
    },
  );

  // ---- topic permissions --------------------------------------------------------------------
  // Stored with the settings, so a change is a `settings.changed` event: every broker replica applies
  // it to the account's live sessions from the change feed (docs/permissions.md).
  const rulesOf = (s: Settings): TopicRules => ({ rules: s.topicRules ?? [] });
  app.get(
    '/api/v1/accounts/:id/topic-rules',
    {
      schema: {
        operationId: 'getTopicRules',
        summary: "Show an account's topic permissions",
        description: `The ordered rules that say where the account's devices may publish and subscribe, inside the account's own topic namespace. The first rule that matches decides; when the account has rules, what no rule allows is refused. An empty list: devices use the whole namespace. \`\${username}\`, \`\${cn}\` and \`\${clientId}\` in a filter stand for each device's identity. ${READ}`,
        tags: ['Permissions'],
        params: AccountParams,
        response: { 200: TopicRules },
        errors: ['ACCOUNT_NOT_FOUND'],
        examples: { response: TOPIC_RULES },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      await authorize(req, resolver, id, 'read');
      return rulesOf(await store.settings(id));
    },
  );

  app.put(
    '/api/v1/accounts/:id/topic-rules',
    {
      schema: {
        operationId: 'replaceTopicRules',
        summary: "Replace an account's topic permissions",
        description: `The whole ordered list replaces the current one (\`[]\` removes every rule). Brokers apply it to live sessions at once: the next PUBLISH and SUBSCRIBE of every device is decided by it, and a session holding a subscription the new rules forbid loses it and is ended (\`SESSION_TOPIC_RULES_CHANGED\`), so its device reconnects and learns the refusal from its SUBACK. A filter that is not an MQTT topic filter, an unknown placeholder, or more rules or longer filters than the installation allows (\`TWOWAY_TOPIC_RULES_MAX\`, \`TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH\`) answer \`TOPIC_RULES_INVALID\` and change nothing. ${WRITE}`,
        tags: ['Permissions'],
        params: AccountParams,
        body: TopicRules,
        response: { 200: TopicRules },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'TOPIC_RULES_INVALID'],
        examples: { request: TOPIC_RULES, response: TOPIC_RULES },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      const { principal } = await authorize(req, resolver, id, 'write');
      const { rules } = req.body as TopicRules;
      return rulesOf(await store.updateSettings(id, { topicRules: rules }, principal, actorOf(principal)));
    },
  );

  // ---- credentials --------------------------------------------------------------------------
  app.post(
    '/api/v1/accounts/:id/credentials',
    {
      schema: {
        operationId: 'createCredential',
        summary: 'Add a device credential',
        description: `An MQTT username (unique in the installation) and password (stored hashed, never returned or logged). \`requireCertificate\`: accepted only on a connection whose client certificate chain verified and is clean, never on the password alone; when not sent, on if the account has mutual TLS on (available and enabled) at this moment, off otherwise. A later settings change does not change it. ${WRITE}`,
        tags: ['Credentials'],
        params: AccountParams,
        body: CreateCredentialBody,
        response: { 201: Credential },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'CREDENTIAL_DUPLICATE'],
        examples: { request: { username: 'sensor-17', password: 'correct-horse-battery-staple', requireCertificate: true }, response: CREDENTIAL },
      },
    },
    async (req, reply) => {
      const { id } = req.params as Params;
      const { principal } = await authorize(req, resolver, id, 'write');
      const body = req.body as CreateCredentialBody;
      const passwordHash = await hashPassword(body.password);
      const cred = await store.createCredential(
        id,
        {
          username: body.username,
          passwordHash,
          enabled: body.enabled ?? true,
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
          ...(body.requireCertificate !== undefined ? { requireCertificate: body.requireCertificate } : {}),
        },
        actorOf(principal),
      );
      credentials.passwordSet(cred.id, passwordHash, body.password);
      return reply.status(201).send(cred);
    },
  );

  app.get(
    '/api/v1/accounts/:id/credentials',
    {
      schema: {
        operationId: 'listCredentials',
        summary: 'List the device credentials of an account',
        description: `A page at a time, never with passwords. \`username\` and \`idPrefix\` find one credential. ${READ}`,
        tags: ['Credentials'],
        params: AccountParams,
        querystring: CredentialQuery,
        response: { 200: pageOf(Credential) },
        errors: ['ACCOUNT_NOT_FOUND'],
        examples: { response: { items: [CREDENTIAL], nextCursor: null } },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      await authorize(req, resolver, id, 'read');
      return store.listCredentials(id, req.query as CredentialQuery);
    },
  );

  app.patch(
    '/api/v1/accounts/:id/credentials/:credId',
    {
      schema: {
        operationId: 'updateCredential',
        summary: 'Change a device credential',
        description: `A new password, enabled on or off, a new expiry (null: never), or whether it requires a verified certificate; only what is sent changes. A new password, a disable or an expiry ends the live sessions that used it. Turning \`requireCertificate\` on ends, on every broker, its live sessions that are not on a verified certificate (password only, fallback) and keeps its mutual-TLS sessions; turning it off ends none. ${WRITE}`,
        tags: ['Credentials'],
        params: CredentialParams,
        body: PatchCredentialBody,
        response: { 200: Credential },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'CREDENTIAL_NOT_FOUND'],
        examples: { request: { requireCertificate: true }, response: CREDENTIAL },
      },
    },
    async (req) => {
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
          ...(body.requireCertificate !== undefined ? { requireCertificate: body.requireCertificate } : {}),
        },
        actorOf(principal),
      );
      if (set) credentials.passwordSet(credId, set.passwordHash, set.password);
      else credentials.credentialChanged(credId);
      return cred;
    },
  );

  app.delete(
    '/api/v1/accounts/:id/credentials/:credId',
    {
      schema: {
        operationId: 'deleteCredential',
        summary: 'Delete a device credential',
        description: `Devices using it can no longer connect, and their live sessions end. ${WRITE}`,
        tags: ['Credentials'],
        params: CredentialParams,
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'CREDENTIAL_NOT_FOUND'],
        success: { status: 204, description: 'Deleted; no body.' },
      },
    },
    async (req, reply) => {
      const { id, credId } = req.params as Required<Params>;
      const { principal } = await authorize(req, resolver, id, 'write');
      await store.deleteCredential(id, credId, actorOf(principal));
      credentials.credentialChanged(credId);
      return reply.status(204).send();
    },
  );

  // ---- tokens -------------------------------------------------------------------------------
  app.post(
    '/api/v1/accounts/:id/tokens',
    {
      schema: {
        operationId: 'createToken',
        summary: 'Create an API token',
        description: `The answer holds the token secret (\`token\`), shown this once: only its hash is stored. A token may not create one with more rights than its own (\`FORBIDDEN\`). \`expiresAt\` must be in the future. ${WRITE}`,
        tags: ['Tokens'],
        params: AccountParams,
        body: CreateTokenBody,
        response: { 201: CreatedToken },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'BAD_REQUEST'],
        examples: { request: { name: 'Factory PKI', role: 'provisioner' }, response: { ...TOKEN, token: 'tw_9f8e7d6c5b4a39281706f5e4_…' } },
      },
    },
    async (req, reply) => {
      const { id } = req.params as Params;
      const { principal } = await authorize(req, resolver, id, 'write');
      const body = req.body as CreateTokenBody;
      if (!mayGrant(principal.role, body.role)) throw new ForbiddenError(`role ${principal.role} may not create a ${body.role} token`);
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw new BadRequestError('expiresAt must be in the future');
      const { info, token } = await store.createToken(id, { name: body.name, role: body.role, expiresAt }, actorOf(principal));
      return reply.status(201).send({ ...info, token });
    },
  );

  app.get(
    '/api/v1/accounts/:id/tokens',
    {
      schema: {
        operationId: 'listTokens',
        summary: 'List the API tokens of an account',
        description: `Never their secrets; revoked and expired tokens included. \`name\` and \`idPrefix\` find one token. ${READ}`,
        tags: ['Tokens'],
        params: AccountParams,
        querystring: TokenQuery,
        response: { 200: pageOf(TokenInfo) },
        errors: ['ACCOUNT_NOT_FOUND'],
        examples: { response: { items: [TOKEN], nextCursor: null } },
      },
    },
    async (req) => {
      const { id } = req.params as Params;
      await authorize(req, resolver, id, 'read');
      return store.listTokens(id, req.query as TokenQuery);
    },
  );

  app.delete(
    '/api/v1/accounts/:id/tokens/:tokenId',
    {
      schema: {
        operationId: 'revokeToken',
        summary: 'Revoke an API token',
        description: `Refused from its next request on: every service forgets the tokens it had verified when one is revoked. ${WRITE}`,
        tags: ['Tokens'],
        params: TokenParams,
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'TOKEN_NOT_FOUND'],
        success: { status: 204, description: 'Revoked; no body.' },
      },
    },
    async (req, reply) => {
      const { id, tokenId } = req.params as Required<Params>;
      const { principal } = await authorize(req, resolver, id, 'write');
      await store.revokeToken(id, tokenId, actorOf(principal));
      return reply.status(204).send();
    },
  );
}

