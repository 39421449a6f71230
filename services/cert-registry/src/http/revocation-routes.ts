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
  type ErrorCode,
  RevokedSerial,
  RevokedSerialPage,
  RevokedSerialQuery,
  RevokeSerialBody,
  PathParams,
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
const SerialParams = Type.Object({ ...CertParams.properties, serial: PathParams.serial });

type CertRoute = { id: string; certId: string };

/**
 * A route's OpenAPI entry next to it, as every route has (libs/http openapi.ts): operationId, summary,
 * description, tag, error codes, with the schema (the CA's path parameters unless given).
 */
const doc = (operationId: string, summary: string, description: string, errors: readonly ErrorCode[], schema: Record<string, unknown> = {}) => ({
  operationId,
  summary,
  description,
  tags: ['Revocation'],
  params: CertParams,
  errors: ['ACCOUNT_NOT_FOUND', 'CERT_NOT_FOUND', ...errors] as ErrorCode[],
  ...schema,
});
/** Writes: a role that may not is refused. */
const WRITE_ERRORS = ['FORBIDDEN'] as const;
/** What a CRL that is not stored is refused with (upload, or a fetch that delivered one). */
const CRL_REFUSALS = ['CERT_NOT_CA', 'CRL_INVALID', 'CRL_UNSUPPORTED', 'CRL_ISSUER_MISMATCH', 'CRL_SIGNATURE_INVALID', 'CRL_OUTDATED'] as const;

const REVOCATION_EXAMPLE: Revocation = {
  certificateId: '3f2a9c01-5b7e-4d2a-9c61-0e4b8f7a2d10',
  crl: {
    issuer: 'CN=Factory root,O=Acme',
    thisUpdate: '2026-11-23T00:00:00.000Z',
    nextUpdate: '2026-11-30T00:00:00.000Z',
    number: '42',
    entries: 1250,
    fingerprint: '9b1c4e6f8a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5',
    source: 'fetch',
    updatedAt: '2026-11-23T10:00:00.000Z',
    stale: false,
  },
  distributionPoint: { url: 'https://pki.example.com/factory-root.crl', lastAttemptAt: '2026-11-23T10:00:00.000Z', lastSuccessAt: '2026-11-23T10:00:00.000Z', lastError: null, failures: 0, nextFetchAt: '2026-11-23T11:00:00.000Z' },
  revokedSerials: 3,
};
const REVOKED_SERIAL_EXAMPLE: RevokedSerial = { certificateId: REVOCATION_EXAMPLE.certificateId, serial: '4a1b770c', reason: 'keyCompromise', revokedAt: '2026-11-23T10:00:00.000Z', revokedBy: 'pki-robot' };

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
    'getCrl',
    "A CA's CRL and revocation state",
    'The CRL stored for this registered CA (thisUpdate, nextUpdate, cRLNumber, entries, stale), its distribution point and fetch state, and how many revoked-serial entries it has. Roles: all.',
    [],
    { response: { 200: Revocation }, examples: { response: REVOCATION_EXAMPLE } },
  );
  app.get(crlPath, { schema: readState }, async (req) => {
    const { id, certId } = await caller(req, 'read');
    return deps.store.state(id, certId, now());
  });

  const upload = doc(
    'uploadCrl',
    "Upload a CA's CRL",
    'Stores the CRL (PEM or base64 DER in `crl`) of this registered CA after checking it: issued by this CA (issuer name, signature by its key, cRLSign in its keyUsage), not from the future, a complete CRL (no delta or indirect CRL, no unknown critical extension), not older than the stored one (cRLNumber, thisUpdate). Every broker then refuses the serials it lists (CERT_REVOKED_BY_CRL) and ends the live sessions of those devices. The same CRL again is no change. A pasted private key is refused unread. Roles: admin, provisioner.',
    [...WRITE_ERRORS, ...CRL_REFUSALS, 'CERT_PRIVATE_KEY_REJECTED'],
    { body: UploadCrlBody, response: { 200: Revocation }, examples: { request: { crl: '-----BEGIN X509 CRL-----\nMIIBvjCBpwIBATANBgkqhkiG9w0BAQsF…\n-----END X509 CRL-----\n' }, response: { ...REVOCATION_EXAMPLE, crl: { ...REVOCATION_EXAMPLE.crl!, source: 'upload' } } } },
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

  const remove = doc(
    'deleteCrl',
    "Remove a CA's CRL",
    'Forgets the stored CRL: the serials it listed are no longer refused (revoked-serial entries stay). A distribution point, if set, fetches it again. Roles: admin, provisioner.',
    [...WRITE_ERRORS, 'CRL_NOT_FOUND'],
    { success: { status: 204, description: 'Removed; no body.' } },
  );
  app.delete(crlPath, { schema: remove }, async (req, reply) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    await deps.store.removeCrl(id, certId, ctx());
    req.log.info({ account: id, certificateId: certId }, 'CRL removed');
    return reply.status(204).send();
  });

  const distributionPoint = doc(
    'setCrlDistributionPoint',
    "Set a CA's CRL distribution point",
    `The http or https URL cert-registry fetches this CA's CRL from: at once, then every TWOWAY_CRL_FETCH_INTERVAL_MS (sooner when the CRL's nextUpdate comes first), retried with backoff after a failure; the download is bounded in time (TWOWAY_CRL_FETCH_TIMEOUT_MS) and size (TWOWAY_CRL_MAX_BYTES) and follows redirects only to http or https. \`null\` stops fetching. Roles: admin (the registry will request this URL).`,
    [...WRITE_ERRORS, 'CERT_NOT_CA'],
    { body: CrlDistributionPointBody, response: { 200: Revocation }, examples: { request: { url: 'https://pki.example.com/factory-root.crl' }, response: REVOCATION_EXAMPLE } },
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
    'fetchCrl',
    "Fetch a CA's CRL now",
    'Fetches the CRL from the distribution point at once and stores it as an upload would be (same checks). 502 CRL_FETCH_FAILED when the distribution point did not deliver; a delivered CRL that is refused answers with the refusal (e.g. CRL_SIGNATURE_INVALID); 400 BAD_REQUEST when the CA has no distribution point. Recorded and audited like a scheduled fetch. Roles: admin, provisioner.',
    [...WRITE_ERRORS, 'BAD_REQUEST', 'CRL_FETCH_FAILED', ...CRL_REFUSALS],
    { response: { 200: Revocation }, examples: { response: REVOCATION_EXAMPLE } },
  );
  app.post(`${crlPath}/fetch`, { schema: fetchNow }, async (req) => {
    const { id, certId } = await caller(req, 'certificates.write');
    return deps.fetcher.fetchNow(id, certId);
  });

  const listSerials = doc(
    'listRevokedSerials',
    "A CA's revoked-serial entries",
    'Serials revoked under this CA by serial number (not those of its CRL), in serial order, a page at a time: pass `nextCursor` as `cursor` for the next page (null on the last). Roles: all.',
    ['BAD_REQUEST'],
    { querystring: RevokedSerialQuery, response: { 200: RevokedSerialPage }, examples: { response: { items: [REVOKED_SERIAL_EXAMPLE], nextCursor: null } } },
  );
  app.get(serialsPath, { schema: listSerials }, async (req) => {
    const { id, certId } = await caller(req, 'read');
    return deps.store.listSerials(id, certId, req.query as RevokedSerialQuery);
  });

  const revoke = doc(
    'revokeSerial',
    'Revoke a serial number under a CA',
    'Revokes the certificate with this serial number issued by this registered CA, without its certificate: every broker refuses it (CERT_SERIAL_REVOKED) and ends its live sessions. 201 with the entry; 200 when the serial was already revoked (no change). At most TWOWAY_REVOKED_SERIALS_MAX entries per CA. Roles: admin, provisioner.',
    [...WRITE_ERRORS, 'CERT_NOT_CA', 'REVOKED_SERIAL_LIMIT'],
    { body: RevokeSerialBody, response: { 200: RevokedSerial, 201: RevokedSerial }, examples: { request: { serial: '4A:1B:77:0C', reason: 'keyCompromise' }, response: REVOKED_SERIAL_EXAMPLE } },
  );
  app.post(serialsPath, { schema: revoke }, async (req, reply) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    const body = req.body as RevokeSerialBody;
    const r = await deps.store.revokeSerial(id, certId, serialOf(body.serial), body.reason ?? null, ctx());
    req.log.info({ account: id, certificateId: certId, serial: r.entry.serial, created: r.created }, 'serial revoked');
    return reply.status(r.created ? 201 : 200).send(r.entry);
  });

  const restore = doc(
    'restoreSerial',
    'Restore a revoked serial number',
    "Removes the revoked-serial entry: the device is admitted again (unless the CA's CRL lists it too). 404 REVOKED_SERIAL_NOT_FOUND when there is none. Roles: admin, provisioner.",
    [...WRITE_ERRORS, 'REVOKED_SERIAL_NOT_FOUND'],
    { params: SerialParams, success: { status: 204, description: 'Restored; no body.' } },
  );
  app.delete(`${serialsPath}/:serial`, { schema: restore }, async (req, reply) => {
    const { id, certId, ctx } = await caller(req, 'certificates.write');
    const { serial } = req.params as { serial: string };
    await deps.store.restoreSerial(id, certId, serialOf(serial), ctx());
    req.log.info({ account: id, certificateId: certId, serial }, 'serial restored');
    return reply.status(204).send();
  });
}
