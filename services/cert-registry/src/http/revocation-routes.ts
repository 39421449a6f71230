// REST for a registered CA's revocation data, under /api/v1/accounts/:id/certificates/:certId: its CRL
// (upload, read, remove, fetch now), its CRL distribution point, and revoked-serial entries (revoke a
// device by serial number without its certificate; restore). Authorised and scoped like the certificate
// routes: another account's id answers 404 ACCOUNT_NOT_FOUND, another account's certificate 404
// CERT_NOT_FOUND. Bodies are never logged (a CRL is large; a pasted key is refused unread).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  CrlDistributionPointBody,
  Revocation,
  RevokedSerial,
  RevokedSerialPage,
  RevokedSerialQuery,
  RevokeSerialBody,
  SerialNumber,
  UploadCrlBody,
} from '@twoway/contracts';
import { ApiError, authorize, type Action, type Resolver } from '@twoway/http';
import { normalizeSerial } from '@twoway/pki';
import type { RevocationStore } from '../db/revocation-store.js';
import type { CrlFetcher } from '../fetch/crl-fetcher.js';
import { checkCrl, checkDistributionPointUrl } from '../domain/revocation.js';
import { CertParams, certificatesPath, writeContextOf } from './certificate-routes.js';
import type { WriteContext } from '../db/certificate-store.js';

export interface RevocationRouteDeps {
  store: RevocationStore;
  fetcher: CrlFetcher;
  resolver: Resolver;
  /** TWOWAY_CRL_MAX_BYTES: the largest CRL (DER); the upload body may be its base64 or PEM. */
  crlMaxBytes: number;
  now?: () => Date;
}

const crlPath = `${certificatesPath}/:certId/crl`;
const serialsPath = `${certificatesPath}/:certId/revoked-serials`;
const SerialParams = Type.Object({ ...CertParams.properties, serial: SerialNumber });

type CertRoute = { id: string; certId: string };

/** A route's OpenAPI summary and description with its schema (the CA's path parameters unless given). */
const doc = (summary: string, description: string, schema: Record<string, unknown> = {}) => ({ summary, description, params: CertParams, ...schema });

export function registerRevocationRoutes(app: FastifyInstance, deps: RevocationRouteDeps): void {
  const now = deps.now ?? (() => new Date());
  /** The route's account and CA, the caller authorised for `action` there, and the write's context. */
  const caller = async (req: FastifyRequest, action: Action) => {
    const { id, certId } = req.params as CertRoute;
    const { principal, ancestry } = await authorize(req, deps.resolver, id, action);
    return { id, certId, ctx: (): WriteContext => writeContextOf(principal, ancestry, now()) };
  };
  const serialOf = (s: string) => {
    const n = normalizeSerial(s);
    if (!n) throw new ApiError('VALIDATION_FAILED', `serial '${s.slice(0, 100)}' is not a positive hexadecimal serial number`);
    return n;
  };

  const readState = doc(
    "A CA's CRL and revocation state",
    'The CRL stored for this registered CA (thisUpdate, nextUpdate, cRLNumber, entries, stale), its distribution point and fetch state, and how many revoked-serial entries it has.',
    { response: { 200: Revocation } },
  );
  app.get(crlPath, { schema: readState }, async (req) => {
    const { id, certId } = await caller(req, 'read');
    return deps.store.state(id, certId, now());
  });

  const upload = doc(
    "Upload a CA's CRL",
    'Stores the CRL (PEM or base64 DER in `crl`) of this registered CA after checking it: issued by this CA (issuer name, signature by its key, cRLSign in its keyUsage), not from the future, a complete CRL (no delta or indirect CRL, no unknown critical extension), not older than the stored one (cRLNumber, thisUpdate). Every broker then refuses the serials it lists (CERT_REVOKED_BY_CRL) and ends the live sessions of those devices. The same CRL again is no change.',
    { body: UploadCrlBody, response: { 200: Revocation } },
  );
  // base64 (4/3) with PEM line breaks (65/64), and the JSON around it.
  app.put(crlPath, { bodyLimit: Math.ceil(deps.crlMaxBytes * 1.4) + 64 * 1024, schema: upload }, async (req) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    const write = ctx();
    const ca = await deps.store.ca(id, certId);
    const crl = checkCrl((req.body as UploadCrlBody).crl, ca, write.now, deps.crlMaxBytes);
    const r = await deps.store.storeCrl(id, certId, crl, { kind: 'upload' }, write);
    req.log.info({ account: id, certificateId: ca.id, changed: r.changed, crlNumber: r.revocation.crl?.number, entries: r.revocation.crl?.entries }, 'CRL uploaded');
    return r.revocation;
  });

  const remove = doc("Remove a CA's CRL", 'Forgets the stored CRL: the serials it listed are no longer refused (revoked-serial entries stay). A distribution point, if set, fetches it again.');
  app.delete(crlPath, { schema: remove }, async (req, reply) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    await deps.store.removeCrl(id, certId, ctx());
    req.log.info({ account: id, certificateId: certId }, 'CRL removed');
    return reply.status(204).send();
  });

  const distributionPoint = doc(
    "Set a CA's CRL distribution point",
    `The http or https URL cert-registry fetches this CA's CRL from: at once, then every TWOWAY_CRL_FETCH_INTERVAL_MS (sooner when the CRL's nextUpdate comes first), retried with backoff after a failure; the download is bounded in time (TWOWAY_CRL_FETCH_TIMEOUT_MS) and size (TWOWAY_CRL_MAX_BYTES) and follows redirects only to http or https. \`null\` stops fetching. Admins only: the registry will request this URL.`,
    { body: CrlDistributionPointBody, response: { 200: Revocation } },
  );
  app.put(`${crlPath}/distribution-point`, { schema: distributionPoint }, async (req) => {
    const { id, certId, ctx } = await caller(req, 'write');
    const raw = (req.body as CrlDistributionPointBody).url;
    let url: string | null = null;
    if (raw !== null) {
      const checked = checkDistributionPointUrl(raw);
      if (!checked.ok) throw new ApiError('VALIDATION_FAILED', checked.problem);
      url = checked.url;
    }
    const r = await deps.store.setDistributionPoint(id, certId, url, ctx());
    if (url) deps.fetcher.wake();
    req.log.info({ account: id, certificateId: certId, url }, 'CRL distribution point set');
    return r;
  });

  const fetchNow = doc(
    "Fetch a CA's CRL now",
    'Fetches the CRL from the distribution point at once and stores it as an upload would be (same checks). 502 CRL_FETCH_FAILED when the distribution point did not deliver; a delivered CRL that is refused answers with the refusal (e.g. CRL_SIGNATURE_INVALID). Recorded and audited like a scheduled fetch.',
    { response: { 200: Revocation } },
  );
  app.post(`${crlPath}/fetch`, { schema: fetchNow }, async (req) => {
    const { id, certId } = await caller(req, 'certificates.write');
    return deps.fetcher.fetchNow(id, certId);
  });

  const listSerials = doc(
    "A CA's revoked-serial entries",
    'Serials revoked under this CA by serial number (not those of its CRL), in serial order, paged with `cursor`.',
    { querystring: RevokedSerialQuery, response: { 200: RevokedSerialPage } },
  );
  app.get(serialsPath, { schema: listSerials }, async (req) => {
    const { id, certId } = await caller(req, 'read');
    return deps.store.listSerials(id, certId, req.query as RevokedSerialQuery);
  });

  const revoke = doc(
    'Revoke a serial number under a CA',
    'Revokes the certificate with this serial number issued by this registered CA, without its certificate: every broker refuses it (CERT_SERIAL_REVOKED) and ends its live sessions. 201 with the entry; 200 when the serial was already revoked (no change). At most TWOWAY_REVOKED_SERIALS_MAX entries per CA.',
    { body: RevokeSerialBody, response: { 200: RevokedSerial, 201: RevokedSerial } },
  );
  app.post(serialsPath, { schema: revoke }, async (req, reply) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    const body = req.body as RevokeSerialBody;
    const r = await deps.store.revokeSerial(id, certId, serialOf(body.serial), body.reason ?? null, ctx());
    req.log.info({ account: id, certificateId: certId, serial: r.entry.serial, created: r.created }, 'serial revoked');
    return reply.status(r.created ? 201 : 200).send(r.entry);
  });

  const restore = doc(
    'Restore a revoked serial number',
    "Removes the revoked-serial entry: the device is admitted again (unless the CA's CRL lists it too). 404 REVOKED_SERIAL_NOT_FOUND when there is none.",
    { params: SerialParams },
  );
  app.delete(`${serialsPath}/:serial`, { schema: restore }, async (req, reply) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    const { serial } = req.params as { serial: string };
    await deps.store.restoreSerial(id, certId, serialOf(serial), ctx());
    req.log.info({ account: id, certificateId: certId, serial }, 'serial restored');
    return reply.status(204).send();
  });
}
