// TypeORM entities (EntitySchema, no decorators) of the account-settings database.
import { EntitySchema } from 'typeorm';

export interface AccountRow {
  id: string;
  name: string;
  parentId: string | null;
  /** JSON of the contracts `Settings`. */
  settings: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface CredentialRow {
  id: string;
  accountId: string;
  username: string;
  /** scrypt hash (domain/password-hash.ts); never leaves this service. */
  passwordHash: string;
  enabled: boolean;
  expiresAt: Date | null;
  /** JSON array of the fingerprints of the verified path it last connected with (leaf first); null: never. */
  chainPath?: string | null;
  chainSeenAt?: Date | null;
  /** Accepted only on a verified, clean chain, never on the password alone (docs/broker.md). */
  requireCertificate: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface TokenRow {
  id: string;
  accountId: string;
  name: string;
  role: 'admin' | 'operator' | 'provisioner';
  /** SHA-256 of the whole token, hex (domain/tokens.ts). */
  secretHash: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

export const AccountEntity = new EntitySchema<AccountRow>({
  name: 'AccountRow',
  tableName: 'accounts',
  columns: {
    id: { type: String, length: 64, primary: true },
    name: { type: String, length: 128 },
    parentId: { type: String, length: 64, nullable: true, name: 'parent_id' },
    settings: { type: 'text' },
    createdAt: { type: Date, name: 'created_at' },
    updatedAt: { type: Date, name: 'updated_at' },
  },
});

export const CredentialEntity = new EntitySchema<CredentialRow>({
  name: 'CredentialRow',
  tableName: 'credentials',
  columns: {
    id: { type: String, length: 64, primary: true },
    accountId: { type: String, length: 64, name: 'account_id' },
    username: { type: String, length: 256 },
    passwordHash: { type: String, length: 256, name: 'password_hash' },
    enabled: { type: Boolean },
    expiresAt: { type: Date, nullable: true, name: 'expires_at' },
    chainPath: { type: 'text', nullable: true, name: 'chain_path' },
    chainSeenAt: { type: Date, nullable: true, name: 'chain_seen_at' },
    requireCertificate: { type: Boolean, name: 'require_certificate', default: false },
    createdAt: { type: Date, name: 'created_at' },
    updatedAt: { type: Date, name: 'updated_at' },
  },
});

export const TokenEntity = new EntitySchema<TokenRow>({
  name: 'TokenRow',
  tableName: 'tokens',
  columns: {
    id: { type: String, length: 64, primary: true },
    accountId: { type: String, length: 64, name: 'account_id' },
    name: { type: String, length: 128 },
    role: { type: String, length: 16 },
    secretHash: { type: String, length: 64, name: 'secret_hash' },
    expiresAt: { type: Date, nullable: true, name: 'expires_at' },
    revokedAt: { type: Date, nullable: true, name: 'revoked_at' },
    createdAt: { type: Date, name: 'created_at' },
  },
});
