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
