// REST for certificates under /api/v1/accounts/:id/certificates. Every route authorises first
// (foreign accounts answer 404 ACCOUNT_NOT_FOUND), then works only inside that account (a foreign
// certificate id answers 404 CERT_NOT_FOUND). Request bodies are never logged: they may hold a
// pasted private key (fastify's request logging is off in libs/http; `certificate` is redacted).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApiPrefix,
  Certificate,
  CertificateBatch,
  CertificatePage,
  CertificateSessions,
  CertificateQuery,
  CreateCertificateBody,
  CreateCertificateQuery,
  Id,
  PatchCertificateBody,
  type Account,
  type Actor,
  type Principal,
} from '@twoway/contracts';
import { authorize, type Resolver } from '@twoway/http';
import { currentTraceparent } from '@twoway/telemetry';
import type { CertificateStore, WriteContext } from '../db/certificate-store.js';
import { planUpload } from '../domain/upload.js';
import type { LiveSessionsCounter } from '../nats/live-sessions.js';

export interface RouteDeps {
  store: CertificateStore;
  resolver: Resolver;
  /** The live sessions a status change would end, summed over the broker replicas (nats/live-sessions.ts). */
  liveSessions: LiveSessionsCounter;
  /** Injectable clock for tests; wall clock otherwise. */
  now?: () => Date;
}

const AccountParams = Type.Object({ id: Id });
const CertParams = Type.Object({ id: Id, certId: Type.String({ minLength: 1, maxLength: 64 }) });
const base = `${ApiPrefix}/accounts/:id/certificates`;

export const actorOf = (p: Principal): Actor => ({ kind: 'token', id: p.tokenId, name: p.name, accountId: p.accountId });

export function registerCertificateRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const now = deps.now ?? (() => new Date());
  // The ancestry authorisation resolved anyway becomes the audit events' `accountPath` (no extra lookup).
  const writeContext = (p: Principal, ancestry: readonly Account[]): WriteContext => ({
    actor: actorOf(p),
    now: now(),
    newId: randomUUID,
    traceparent: currentTraceparent(),
    accountPath: ancestry.map((a) => a.id),
  });
  const accountOf = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.post(
    base,
    {
      schema: {
        params: AccountParams,
        querystring: CreateCertificateQuery,
        body: CreateCertificateBody,
        response: { 201: Type.Union([Certificate, CertificateBatch]) },
      },
    },
    async (req, reply) => {
      const accountId = accountOf(req);
      const { principal, ancestry } = await authorize(req, deps.resolver, accountId, 'certificates.write');
      const body = req.body as CreateCertificateBody;
      const split = (req.query as CreateCertificateQuery).split === true;
      const ctx = writeContext(principal, ancestry);
      const entries = planUpload({ accountId, name: body.name, pem: body.certificate, split }, ctx.now);
      const created = await deps.store.add(accountId, entries, ctx);
      req.log.info({ account: accountId, certificates: created.map((c) => ({ id: c.id, fingerprint: c.fingerprint, kind: c.kind })) }, 'certificates registered');
      return reply.status(201).send(split ? { items: created } : created[0]);
    },
  );

  app.get(base, { schema: { params: AccountParams, querystring: CertificateQuery, response: { 200: CertificatePage } } }, async (req) => {
    const accountId = accountOf(req);
    await authorize(req, deps.resolver, accountId, 'read');
    return deps.store.list(accountId, req.query as CertificateQuery);
  });

  app.get(`${base}/:certId`, { schema: { params: CertParams, response: { 200: Certificate } } }, async (req) => {
    const { id, certId } = req.params as { id: string; certId: string };
    await authorize(req, deps.resolver, id, 'read');
    return deps.store.get(id, certId);
  });

  app.patch(
    `${base}/:certId`,
    {
      schema: {
        summary: 'Suspend, revoke, restore or rename a certificate',
        description:
          'Sets `status` (VALID, SUSPENDED, REVOKED; any move is allowed) and/or `name`. A status change ends the live sessions ' +
          'whose verified path holds the certificate on every broker replica; a rename only changes the name (audited as cert.renamed).',
        params: CertParams,
        body: PatchCertificateBody,
        response: { 200: Certificate },
      },
    },
    async (req) => {
      const { id, certId } = req.params as { id: string; certId: string };
      const { principal, ancestry } = await authorize(req, deps.resolver, id, 'certificates.write');
      const patch = req.body as PatchCertificateBody;
      const cert = await deps.store.update(id, certId, patch, writeContext(principal, ancestry));
      req.log.info({ account: id, certificateId: cert.id, ...(patch.status ? { status: patch.status } : {}), renamed: patch.name !== undefined }, 'certificate updated');
      return cert;
    },
  );

  app.get(
    `${base}/:certId/sessions`,
    {
      schema: {
        summary: 'Live sessions a status change of this certificate would end',
        description:
          'Asks every broker replica (scatter-gather over NATS, about a second at most) for its live sessions whose verified path ' +
          'holds this certificate, in this account or below, and sums them per account. `replicas` says how many replicas answered.',
        params: CertParams,
        response: { 200: CertificateSessions },
      },
    },
    async (req) => {
      const { id, certId } = req.params as { id: string; certId: string };
      await authorize(req, deps.resolver, id, 'read');
      const cert = await deps.store.get(id, certId);
      // The registration's own account: a parent's token still counts only this registration's subtree.
      const live = await deps.liveSessions(cert.fingerprint, cert.accountId);
      return { certificateId: cert.id, fingerprint: cert.fingerprint, ...live };
    },
  );

  app.delete(`${base}/:certId`, { schema: { params: CertParams } }, async (req, reply) => {
    const { id, certId } = req.params as { id: string; certId: string };
    const { principal, ancestry } = await authorize(req, deps.resolver, id, 'certificates.write');
    await deps.store.remove(id, certId, writeContext(principal, ancestry));
    req.log.info({ account: id, certificateId: certId }, 'certificate deleted');
    return reply.status(204).send();
  });
}
