// Bearer-token authentication and account-subtree authorisation, shared by every REST service.
// Tokens are owned by account-settings and resolved over NATS; a token reaches an account only
// when the token's account is that account or one of its ancestors.
import type { FastifyRequest } from 'fastify';
import { ChangeSubjects, RequestSubjects, TokenVerifyReply, AncestryReply, type Principal, type Account } from '@twoway/contracts';
import { RemoteError, UnavailableError, type Bus } from '@twoway/nats';
import { ApiError, isErrorCode } from './errors.js';

export type Action =
  | 'read'
  /** Create, suspend, revoke, restore, delete certificates: admins and provisioners. */
  | 'certificates.write'
  /** Everything else that changes state: admins only. */
  | 'write';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface Resolver {
  principal(token: string): Promise<Principal>;
  ancestry(accountId: string): Promise<Account[]>;
}

/** Resolves tokens and ancestries over NATS, caching briefly; `forget` is called on token revocation. */
export class NatsResolver implements Resolver {
  private readonly tokens = new Map<string, { p: Principal; at: number }>();
  constructor(private readonly bus: Bus, private readonly ttlMs = 2000) {
    // A revoked token must stop working at once, not after the cache TTL. JetStream publishes are
    // ordinary NATS messages, so a core subscription sees the revocation fact as it is stored.
    const sub = bus.nc.subscribe(ChangeSubjects.TokenRevoked);
    void (async () => {
      for await (const _ of sub) this.forgetAll();
    })();
  }

  async principal(token: string): Promise<Principal> {
    const hit = this.tokens.get(token);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.p;
    const r = await this.call(() => this.bus.request(RequestSubjects.TokenVerify, { token }, TokenVerifyReply));
    if (this.tokens.size > 10_000) this.tokens.clear();
    this.tokens.set(token, { p: r.principal, at: Date.now() });
    return r.principal;
  }

  async ancestry(accountId: string): Promise<Account[]> {
    const r = await this.call(() => this.bus.request(RequestSubjects.AccountAncestry, { accountId }, AncestryReply));
    return r.ancestry;
  }

  forgetAll(): void {
    this.tokens.clear();
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof RemoteError && isErrorCode(e.code)) throw new ApiError(e.code, e.message);
      if (e instanceof UnavailableError) throw new ApiError('UNAVAILABLE', 'the account service is unavailable; try again', { cause: e });
      throw e;
    }
  }
}

export function bearerToken(req: FastifyRequest): string {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m?.[1]) throw new ApiError('UNAUTHENTICATED');
  return m[1];
}

export function roleAllows(role: Principal['role'], action: Action): boolean {
  if (action === 'read') return true;
  if (action === 'certificates.write') return role === 'admin' || role === 'provisioner';
  return role === 'admin';
}

/**
 * Authenticate the request and check that its principal may do `action` on `accountId`.
 * An account outside the principal's subtree answers 404 ACCOUNT_NOT_FOUND, so ids of other
 * tenants cannot be probed.
 */
export async function authorize(req: FastifyRequest, resolver: Resolver, accountId: string, action: Action): Promise<{ principal: Principal; ancestry: Account[] }> {
  const principal = req.principal ?? (await resolver.principal(bearerToken(req)));
  req.principal = principal;
  let ancestry: Account[];
  try {
    ancestry = await resolver.ancestry(accountId);
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'ACCOUNT_NOT_FOUND' || e.code === 'NOT_FOUND' || e.code === 'BAD_REQUEST')) throw new ApiError('ACCOUNT_NOT_FOUND');
    throw e;
  }
  if (!ancestry.some((a) => a.id === principal.accountId)) throw new ApiError('ACCOUNT_NOT_FOUND');
  if (!roleAllows(principal.role, action)) throw new ApiError('FORBIDDEN', `role ${principal.role} may not ${action === 'read' ? 'read' : 'change'} this`);
  return { principal, ancestry };
}
