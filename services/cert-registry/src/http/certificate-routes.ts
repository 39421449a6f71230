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

export interface RouteDeps {
  store: CertificateStore;
  resolver: Resolver;
  /** Injectable clock for tests; wall clock otherwise. */
  now?: () => Date;
}

const AccountParams = Type.Object({ id: Id });
export const CertParams = Type.Object({ id: Id, certId: Type.String({ minLength: 1, maxLength: 64 }) });
export const certificatesPath = `${ApiPrefix}/accounts/:id/certificates`;
const base = certificatesPath;

export const actorOf = (p: Principal): Actor => ({ kind: 'token', id: p.tokenId, name: p.name, accountId: p.accountId });

/** Who writes, when, and the ancestry authorisation resolved anyway: the audit events' `accountPath` (no extra lookup). */
export const writeContextOf = (p: Principal, ancestry: readonly Account[], now: Date): WriteContext => ({
  actor: actorOf(p),
  now,
  newId: randomUUID,
  traceparent: currentTraceparent(),
  accountPath: ancestry.map((a) => a.id),
});

export function registerCertificateRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const now = deps.now ?? (() => new Date());
  const writeContext = (p: Principal, ancestry: readonly Account[]): WriteContext => writeContextOf(p, ancestry, now());
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

  app.patch(`${base}/:certId`, { schema: { params: CertParams, body: PatchCertificateBody, response: { 200: Certificate } } }, async (req) => {
    const { id, certId } = req.params as { id: string; certId: string };
    const { principal, ancestry } = await authorize(req, deps.resolver, id, 'certificates.write');
    const { status } = req.body as PatchCertificateBody;
    const cert = await deps.store.setStatus(id, certId, status, writeContext(principal, ancestry));
    req.log.info({ account: id, certificateId: cert.id, status }, 'certificate status set');
    return cert;
  });

  app.delete(`${base}/:certId`, { schema: { params: CertParams } }, async (req, reply) => {
    const { id, certId } = req.params as { id: string; certId: string };
    const { principal, ancestry } = await authorize(req, deps.resolver, id, 'certificates.write');
    await deps.store.remove(id, certId, writeContext(principal, ancestry));
    req.log.info({ account: id, certificateId: certId }, 'certificate deleted');
    return reply.status(204).send();
  });
}
