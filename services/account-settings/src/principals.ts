// Bearer tokens into principals, and the `Resolver` that `authorize` (libs/http) uses. Served to other
// services over NATS (TokenVerify, AccountAncestry); used in-process by this service's own routes,
// so a revocation takes effect here with no cache in between.
import type { Account, Principal } from '@twoway/contracts';
import type { Resolver } from '@twoway/http';
import { AccountStore, PROVIDER_ACCOUNT_ID, toAccount } from './db/account-store.js';
import { BOOTSTRAP_TOKEN_ID, tokenIdOf, tokenMatches, tokenState } from './domain/tokens.js';
import { UnauthenticatedError } from './errors.js';

export class LocalResolver implements Resolver {
  constructor(
    private readonly store: AccountStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** UNAUTHENTICATED for unknown, malformed, revoked or wrong tokens; TOKEN_EXPIRED only once the secret matched. */
  async principal(token: string): Promise<Principal> {
    // An operator-chosen TWOWAY_BOOTSTRAP_TOKEN need not have our format; it is stored as token `bootstrap`.
    const id = tokenIdOf(token);
    const row = (id ? await this.store.tokenRow(id) : null) ?? (await this.store.tokenRow(BOOTSTRAP_TOKEN_ID));
    if (!row || !tokenMatches(token, row.secretHash)) throw new UnauthenticatedError('UNAUTHENTICATED');
    const state = tokenState(row, this.clock());
    if (state) throw new UnauthenticatedError(state);
    return {
      tokenId: row.id, name: row.name, accountId: row.accountId, role: row.role, provider: row.accountId === PROVIDER_ACCOUNT_ID,
      ...(row.expiresAt ? { expiresAt: row.expiresAt.toISOString() } : {}),
    };
  }

  async ancestry(accountId: string): Promise<Account[]> {
    return (await this.store.ancestry(accountId)).map(toAccount);
  }
}
