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
  PathParams,
  PatchCertificateBody,
  expiryOf,
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
  /** TWOWAY_EXPIRY_WARNING_DAYS: the window of each answer's `expiry`. */
  expiryWarningDays: number;
}

const AccountParams = Type.Object({ id: PathParams.id });
export const CertParams = Type.Object({ id: PathParams.id, certId: PathParams.certId });
export const certificatesPath = `${ApiPrefix}/accounts/:id/certificates`;
const base = certificatesPath;

const CERTIFICATE_EXAMPLE: Certificate = {
  id: '3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10',
  accountId: 'b7c1e0d2-8a4f-4f3e-9d2c-6a1b5e7f9c30',
  name: 'Factory root',
  usage: 'MUTUAL_AUTHENTICATION',
  status: 'VALID',
  fingerprint: '5d0c4e6f8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5',
  subject: 'CN=Factory root,O=Acme',
  issuer: 'CN=Factory root,O=Acme',
  serial: '4a1f09',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2036-01-01T00:00:00.000Z',
  kind: 'root',
  keyType: 'EC P-256',
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  expiry: 'ok',
};

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
  // Every answer says where the certificate stands against its notAfter now (not stored: it changes with time).
  const withExpiry = (c: Certificate, at: Date = now()): Certificate => ({ ...c, expiry: expiryOf(Date.parse(c.notAfter), at.getTime(), deps.expiryWarningDays) });

  app.post(
    base,
    {
      schema: {
        operationId: 'createCertificate',
        summary: 'Register a trust anchor',
        description:
          'Registers one public X.509 certificate (PEM with its BEGIN and END lines) as a trust anchor of the account and of every account below it: a root CA covers a fleet, an intermediate a production batch, a leaf pins one device. ' +
          'A file with several certificates is refused (`CERT_MULTIPLE`) unless `?split=true`, which registers each as its own entry ("NAME #1", …), all or none. ' +
          'A private key is refused (`CERT_PRIVATE_KEY_REJECTED`) and neither stored nor logged. Roles: admin, provisioner.',
        tags: ['Certificates'],
        params: AccountParams,
        querystring: CreateCertificateQuery,
        body: CreateCertificateBody,
        response: { 201: Type.Union([Certificate, CertificateBatch]) },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'CERT_DUPLICATE', 'CERT_PEM_INVALID', 'CERT_MULTIPLE', 'CERT_PRIVATE_KEY_REJECTED', 'CERT_INVALID'],
        examples: { request: { name: 'Factory root', usage: 'MUTUAL_AUTHENTICATION', certificate: '-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIU…\n-----END CERTIFICATE-----\n' }, response: CERTIFICATE_EXAMPLE },
        success: { description: 'Registered: the certificate as stored (with `?split=true`: `{ items: [...] }` in file order).' },
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
      const answered = created.map((c) => withExpiry(c, ctx.now));
      return reply.status(201).send(split ? { items: answered } : answered[0]);
    },
  );

  app.get(
    base,
    {
      schema: {
        operationId: 'listCertificates',
        summary: 'List the certificates of an account',
        description:
          'Oldest first, a page at a time: pass `nextCursor` as `cursor` for the next page (null on the last). Filters combine. Not those of parent accounts, which also apply to this one. ' +
          '`expiresWithinDays=N` lists the certificates to renew: those ending within N days, and those already expired; each item says where it stands in `expiry`. Roles: all.',
        tags: ['Certificates'],
        params: AccountParams,
        querystring: CertificateQuery,
        response: { 200: CertificatePage },
        errors: ['ACCOUNT_NOT_FOUND', 'BAD_REQUEST'],
        examples: { response: { items: [CERTIFICATE_EXAMPLE], nextCursor: null } },
      },
    },
    async (req) => {
      const accountId = accountOf(req);
      await authorize(req, deps.resolver, accountId, 'read');
      const at = now();
      const page = await deps.store.list(accountId, req.query as CertificateQuery, at);
      return { ...page, items: page.items.map((c) => withExpiry(c, at)) };
    },
  );

  app.get(
    `${base}/:certId`,
    {
      schema: {
        operationId: 'getCertificate',
        summary: 'Show one certificate',
        description: 'Roles: all.',
        tags: ['Certificates'],
        params: CertParams,
        response: { 200: Certificate },
        errors: ['ACCOUNT_NOT_FOUND', 'CERT_NOT_FOUND'],
        examples: { response: CERTIFICATE_EXAMPLE },
      },
    },
    async (req) => {
      const { id, certId } = req.params as { id: string; certId: string };
      await authorize(req, deps.resolver, id, 'read');
      return withExpiry(await deps.store.get(id, certId));
    },
  );

  app.patch(
    `${base}/:certId`,
    {
      schema: {
        operationId: 'updateCertificate',
        summary: 'Suspend, revoke, restore or rename a certificate',
        description:
          '`status`: `SUSPENDED` (temporarily not trusted) and `REVOKED` (not trusted, by intent) refuse new connections through the certificate and end the live sessions whose chain holds it, on every broker replica; for a CA that is every device below it. `VALID` restores it. Any move is allowed; the same status again changes nothing. `name` renames it (audited as cert.renamed; trust is unchanged). Roles: admin, provisioner.',
        tags: ['Certificates'],
        params: CertParams,
        body: PatchCertificateBody,
        response: { 200: Certificate },
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'CERT_NOT_FOUND'],
        examples: { request: { status: 'SUSPENDED' }, response: { ...CERTIFICATE_EXAMPLE, status: 'SUSPENDED' } },
      },
    },
    async (req) => {
      const { id, certId } = req.params as { id: string; certId: string };
      const { principal, ancestry } = await authorize(req, deps.resolver, id, 'certificates.write');
      const patch = req.body as PatchCertificateBody;
      const cert = await deps.store.update(id, certId, patch, writeContext(principal, ancestry));
      req.log.info({ account: id, certificateId: cert.id, ...(patch.status ? { status: patch.status } : {}), renamed: patch.name !== undefined }, 'certificate updated');
      return withExpiry(cert);
    },
  );

  app.get(
    `${base}/:certId/sessions`,
    {
      schema: {
        operationId: 'certificateLiveSessions',
        summary: 'Live sessions a status change of this certificate would end',
        description:
          'Asks every broker replica (scatter-gather over NATS, about a second at most) for its live sessions whose verified path ' +
          'holds this certificate, in this account or below, and sums them per account. `replicas` says how many replicas answered, ' +
          '`replicasWithSessions` on how many of them these sessions live. `couldFallBack`: of these sessions, those whose device could ' +
          'reconnect on its password alone — its credential does not require a verified certificate and its account has plain TLS on — so the ' +
          'change alone does not keep it out for sure (null when a replica could not tell). Roles: all.',
        tags: ['Certificates'],
        params: CertParams,
        response: { 200: CertificateSessions },
        errors: ['ACCOUNT_NOT_FOUND', 'CERT_NOT_FOUND'],
        examples: {
          response: {
            certificateId: CERTIFICATE_EXAMPLE.id,
            fingerprint: CERTIFICATE_EXAMPLE.fingerprint,
            sessions: 42,
            accounts: [{ accountId: CERTIFICATE_EXAMPLE.accountId, sessions: 42 }],
            accountsTruncated: false,
            replicas: 3,
            replicasWithSessions: 3,
            couldFallBack: 5,
          },
        },
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

  app.delete(
    `${base}/:certId`,
    {
      schema: {
        operationId: 'deleteCertificate',
        summary: 'Remove a certificate',
        description: 'Removes the trust anchor; devices whose chain needed it can no longer connect, and their live sessions end. Roles: admin, provisioner.',
        tags: ['Certificates'],
        params: CertParams,
        errors: ['FORBIDDEN', 'ACCOUNT_NOT_FOUND', 'CERT_NOT_FOUND'],
        success: { status: 204, description: 'Removed; no body.' },
      },
    },
    async (req, reply) => {
      const { id, certId } = req.params as { id: string; certId: string };
      const { principal, ancestry } = await authorize(req, deps.resolver, id, 'certificates.write');
      await deps.store.remove(id, certId, writeContext(principal, ancestry));
      req.log.info({ account: id, certificateId: certId }, 'certificate deleted');
      return reply.status(204).send();
    },
  );
}
