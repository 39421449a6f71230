// Errors of account-settings. Each carries a contracts error `code`, which the shared HTTP error map
// and the NATS reply path (libs/nats `serve`) turn into the same status and `{ error }` body.
import { ErrorCodes, type ErrorCode } from '@twoway/contracts';

export class AccountSettingsError extends Error {
  override name = 'AccountSettingsError';
  constructor(readonly code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code].message, options);
  }
}

export class AccountNotFoundError extends AccountSettingsError {
  override name = 'AccountNotFoundError';
  constructor(readonly accountId: string) {
    super('ACCOUNT_NOT_FOUND');
  }
}

export class AccountDuplicateError extends AccountSettingsError {
  override name = 'AccountDuplicateError';
  constructor(readonly parentId: string, readonly accountName: string, options?: { cause?: unknown }) {
    super('ACCOUNT_DUPLICATE', undefined, options);
  }
}

export class CredentialNotFoundError extends AccountSettingsError {
  override name = 'CredentialNotFoundError';
  constructor(readonly accountId: string, readonly credentialId: string) {
    super('CREDENTIAL_NOT_FOUND');
  }
}

/** Usernames are unique across the installation: a device's username identifies its account on connect. */
export class CredentialDuplicateError extends AccountSettingsError {
  override name = 'CredentialDuplicateError';
  constructor(options?: { cause?: unknown }) {
    super('CREDENTIAL_DUPLICATE', 'A credential with this username already exists; usernames are unique across the installation.', options);
  }
}

export class TokenNotFoundError extends AccountSettingsError {
  override name = 'TokenNotFoundError';
  constructor(readonly accountId: string, readonly tokenId: string) {
    super('TOKEN_NOT_FOUND');
  }
}

/** A settings change the principal may not make (PROVIDER_ONLY, MTLS_NOT_AVAILABLE), or topic rules that are not valid (TOPIC_RULES_INVALID). */
export class SettingsRefusedError extends AccountSettingsError {
  override name = 'SettingsRefusedError';
  constructor(code: 'PROVIDER_ONLY' | 'MTLS_NOT_AVAILABLE' | 'TOPIC_RULES_INVALID', message: string, readonly accountId: string) {
    super(code, message);
  }
}

export class ForbiddenError extends AccountSettingsError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class BadRequestError extends AccountSettingsError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

export class UnauthenticatedError extends AccountSettingsError {
  override name = 'UnauthenticatedError';
  constructor(code: 'UNAUTHENTICATED' | 'TOKEN_EXPIRED' = 'UNAUTHENTICATED') {
    super(code);
  }
}

/** A unique constraint of the database refused a write (SQLite and PostgreSQL report it differently). */
export function isUniqueViolation(e: unknown): boolean {
  const d = (e as { driverError?: { code?: string }; code?: string } | undefined) ?? {};
  const code = d.driverError?.code ?? d.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
