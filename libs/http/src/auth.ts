// Bearer-token authentication and account-subtree authorisation, shared by every REST service.
// Tokens are owned by account-settings and resolved over NATS; a token reaches an account only
// when the token's account is that account or one of its ancestors. An operator is not locked out by
// an outage: answers verified shortly before it are honoured for a bounded grace (NatsResolver).
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ChangeSubjects, RequestSubjects, TokenVerifyReply, AncestryReply, type Principal, type Account } from '@twoway/contracts';
import { RemoteError, UnavailableError, type Bus } from '@twoway/nats';
import { ApiError, isErrorCode } from './errors.js';
import { VerifiedCache } from './verified-cache.js';

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

export interface NatsResolverOptions {
  /** A verified token is reused without asking again for this long. */
  ttlMs?: number;
  /**
   * While account-settings cannot be asked (NATS away from us, or it away from NATS), a token verified
   * less than this long ago, and an ancestry read as recently, are still honoured; 0 refuses at once.
   * A token revoked or expired during the outage stays usable up to this bound.
   */
  outageGraceMs?: number;
  log?: { warn(o: object, m: string): void; info(o: object, m: string): void };
}

export const TOKEN_FRESH_MS = 2_000;
/** Tokens and ancestries remembered at most: beyond it the one verified longest ago is forgotten. */
export const RESOLVER_MAX_ENTRIES = 10_000;

/**
 * Resolves tokens and ancestries over NATS, caching briefly, and through an outage of the owner for a
 * bounded grace. Every cached answer is forgotten when a token is revoked and when NATS comes back
 * (a revocation published while we were away may never reach our core subscription), so after an
 * outage every token is verified afresh.
 */
export class NatsResolver implements Resolver {
  private readonly tokens: VerifiedCache<Principal>;
  private readonly ancestries: VerifiedCache<Account[]>;
  private servingFromGrace = false;

  constructor(private readonly bus: Bus, private readonly o: NatsResolverOptions = {}) {
    const graceMs = o.outageGraceMs ?? 0;
    this.tokens = new VerifiedCache({ freshMs: o.ttlMs ?? TOKEN_FRESH_MS, graceMs, maxEntries: RESOLVER_MAX_ENTRIES });
    // Ancestries are asked for every time while the owner answers: only the outage path reuses them.
    this.ancestries = new VerifiedCache({ freshMs: 0, graceMs, maxEntries: RESOLVER_MAX_ENTRIES });
    // A revoked token must stop working at once, not after the cache TTL. JetStream publishes are
    // ordinary NATS messages, so a core subscription sees the revocation fact as it is stored.
    const sub = bus.nc.subscribe(ChangeSubjects.TokenRevoked);
    void (async () => {
      for await (const _ of sub) this.forgetAll();
    })();
    void (async () => {
      for await (const s of bus.nc.status()) {
        if (s.type === 'reconnect') {
          this.forgetAll();
          if (this.servingFromGrace) this.o.log?.info({}, 'NATS back: cached tokens forgotten, every token is verified again');
          this.servingFromGrace = false;
        }
      }
    })();
  }

  async principal(token: string): Promise<Principal> {
    const key = createHash('sha256').update(token).digest('base64url');
    const p = await this.resolve(this.tokens, key, () => this.bus.request(RequestSubjects.TokenVerify, { token }, TokenVerifyReply).then((r) => r.principal));
    // A token verified a moment before it expired must not outlive its expiry in the cache (or the
    // outage grace): its expiry travels with it and is checked on every use.
    if (p.expiresAt && Date.parse(p.expiresAt) <= Date.now()) {
      this.tokens.delete(key);
      throw new ApiError('TOKEN_EXPIRED');
    }
    return p;
  }

  async ancestry(accountId: string): Promise<Account[]> {
    return this.resolve(this.ancestries, accountId, () => this.bus.request(RequestSubjects.AccountAncestry, { accountId }, AncestryReply).then((r) => r.ancestry));
  }

  forgetAll(): void {
    this.tokens.clear();
    this.ancestries.clear();
  }

  private async resolve<V>(cache: VerifiedCache<V>, key: string, ask: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = cache.fresh(key, now);
    if (hit) return hit;
    // Disconnected, a request would only wait for its timeout: answer from the grace at once.
    if (!this.bus.connected) {
      const stale = cache.withinGrace(key, now);
      if (stale) return this.fromGrace(stale);
    }
    try {
      const v = await ask();
      cache.set(key, v, Date.now());
      return v;
    } catch (e) {
      if (e instanceof UnavailableError) {
        const stale = cache.withinGrace(key, now);
        if (stale) return this.fromGrace(stale);
        throw new ApiError('UNAVAILABLE', 'the account service is unavailable; try again', { cause: e });
      }
      cache.delete(key);
      if (e instanceof RemoteError && isErrorCode(e.code)) throw new ApiError(e.code, e.message);
      throw e;
    }
  }

  private fromGrace<V>(v: V): V {
    if (!this.servingFromGrace) {
      this.servingFromGrace = true;
      this.o.log?.warn({ outageGraceMs: this.o.outageGraceMs }, 'account-settings unreachable: honouring tokens verified within the outage grace');
    }
    return v;
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
