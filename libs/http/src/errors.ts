// The one map from error codes to HTTP statuses and bodies. Unknown errors become 500 INTERNAL with a
// fixed message; their details go to the log, never to the client.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, errorBody, type ErrorCode } from '@twoway/contracts';
import { traceIdOfRequest } from './tracing.js';

/** Throw from a route: `throw new ApiError('CERT_NOT_FOUND')`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].message, options);
  }
}

export const isErrorCode = (c: unknown): c is ErrorCode => typeof c === 'string' && c in ErrorCodes;

export function errorHandler(err: FastifyError & { code?: string }, req: FastifyRequest, reply: FastifyReply): void {
  if (err.validation) {
    const msg = err.validation
      .slice(0, 5)
      .map((v) => `${v.instancePath || v.params?.missingProperty || '/'} ${v.message}`)
      .join('; ');
    void reply.status(400).send(errorBody('VALIDATION_FAILED', `invalid ${err.validationContext ?? 'request'}: ${msg}`));
    return;
  }
  if (isErrorCode(err.code)) {
    void reply.status(ErrorCodes[err.code].status).send(errorBody(err.code, err.message));
    return;
  }
  // fastify's own client errors (bad JSON, body too large, unsupported media type)
  if (err.statusCode === 413) {
    void reply.status(413).send(errorBody('PAYLOAD_TOO_LARGE'));
    return;
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    void reply.status(err.statusCode).send(errorBody('BAD_REQUEST', err.message));
    return;
  }
  req.log.error({ err, traceId: traceIdOfRequest(req) }, 'unhandled error');
  void reply.status(500).send(errorBody('INTERNAL'));
}
