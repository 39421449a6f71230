// API error codes with their transport status. One table for every service's HTTP error map and
// for NATS error replies, so a code means the same everywhere. Rows documented in docs/error-codes.md.

export const ErrorCodes = {
  BAD_REQUEST: { status: 400, message: 'The request is not valid.' },
  VALIDATION_FAILED: { status: 400, message: 'The request body or parameters do not match the schema.' },
  UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required.' },
  TOKEN_EXPIRED: { status: 401, message: 'The bearer token has expired.' },
  FORBIDDEN: { status: 403, message: 'This token may not do that.' },
  MTLS_NOT_AVAILABLE: { status: 403, message: 'Mutual TLS is not available to this account.' },
  PROVIDER_ONLY: { status: 403, message: 'Only the provider may change this setting; contact your provider.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  ACCOUNT_NOT_FOUND: { status: 404, message: 'Account not found.' },
  CERT_NOT_FOUND: { status: 404, message: 'Certificate not found.' },
  CREDENTIAL_NOT_FOUND: { status: 404, message: 'Credential not found.' },
  TOKEN_NOT_FOUND: { status: 404, message: 'Token not found.' },
  CERT_DUPLICATE: { status: 409, message: 'This certificate is already registered in this account.' },
  CREDENTIAL_DUPLICATE: { status: 409, message: 'A credential with this username already exists.' },
  ACCOUNT_DUPLICATE: { status: 409, message: 'An account with this name already exists under this parent.' },
  CERT_PRIVATE_KEY_REJECTED: { status: 422, message: 'A private key was submitted; only public certificates are accepted. The key was not stored.' },
  CERT_PEM_INVALID: { status: 422, message: 'The certificate is not valid PEM.' },
  CERT_MULTIPLE: { status: 422, message: 'Exactly one certificate per entry is accepted.' },
  CERT_INVALID: { status: 422, message: 'The certificate cannot be used as a trust anchor.' },
  CERT_NOT_CA: { status: 422, message: 'This certificate is not a CA: CRLs and revoked serials belong to the CA that issued the certificates.' },
  CRL_INVALID: { status: 422, message: 'The CRL could not be read: send one CRL as PEM (X509 CRL) or DER.' },
  CRL_UNSUPPORTED: { status: 422, message: 'This kind of CRL is not supported (delta, indirect, partitioned by reason, an unknown critical extension or a weak signature).' },
  CRL_ISSUER_MISMATCH: { status: 422, message: 'The CRL was issued by another CA than this certificate.' },
  CRL_SIGNATURE_INVALID: { status: 422, message: "The CRL is not signed by this CA's key (or the CA may not sign CRLs)." },
  CRL_OUTDATED: { status: 409, message: 'The CRL is older than the one stored for this CA.' },
  CRL_NOT_FOUND: { status: 404, message: 'No CRL is stored for this CA.' },
  CRL_FETCH_FAILED: { status: 502, message: "The CRL could not be fetched from the CA's distribution point." },
  REVOKED_SERIAL_NOT_FOUND: { status: 404, message: 'This serial number is not revoked under this CA.' },
  REVOKED_SERIAL_LIMIT: { status: 409, message: 'This CA already has the most revoked-serial entries allowed; upload a CRL instead.' },
  TOPIC_RULES_INVALID: { status: 422, message: 'The topic rules are not valid; nothing was changed.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  UNAVAILABLE: { status: 503, message: 'A dependency is unavailable; try again.' },
  OVERLOADED: { status: 503, message: 'The service is busy and refused the request at once; try again.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const;
export type ErrorCode = keyof typeof ErrorCodes;

/** The error body every HTTP route and NATS reply uses. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
export const errorBody = (code: ErrorCode, message?: string): ErrorBody => ({
  error: { code, message: message ?? ErrorCodes[code].message },
});
