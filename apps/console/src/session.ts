// The signed-in session: the token and who it belongs to, kept in sessionStorage so it ends with the tab.
import type { Principal, Role } from '@twoway/contracts';
import type { Api } from './api.js';

export interface Session {
  token: string;
  /** From GET /api/v1/whoami; null when the API has no whoami and the user typed the account id. */
  principal: Principal | null;
  /** The account the token belongs to: the top of what this session can see. */
  homeAccount: { id: string; name: string };
}

export interface AccountRef {
  id: string;
  name: string;
}

const KEY = 'twoway.session';
const CURRENT = 'twoway.account';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}
export const saveSession = (s: Session): void => sessionStorage.setItem(KEY, JSON.stringify(s));
export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(CURRENT);
}
export function loadCurrentAccount(): AccountRef | null {
  try {
    const raw = sessionStorage.getItem(CURRENT);
    return raw ? (JSON.parse(raw) as AccountRef) : null;
  } catch {
    return null;
  }
}
export const saveCurrentAccount = (a: AccountRef): void => sessionStorage.setItem(CURRENT, JSON.stringify(a));

export interface Ctx {
  api: Api;
  session: Session;
  /** The account the views manage: the home account or one below it, picked in the Accounts view. */
  account: AccountRef;
  setAccount(a: AccountRef): void;
}

export type Permission = 'read' | 'write' | 'certificates.write' | 'provider';
const GRANTS: Record<Role, Permission[]> = {
  admin: ['read', 'write', 'certificates.write'],
  operator: ['read'],
  provisioner: ['read', 'certificates.write'],
};

/** What the UI offers. The API decides; without a principal we offer everything and show its answer. */
export function can(s: Session, p: Permission): boolean {
  if (!s.principal) return true;
  if (p === 'provider') return s.principal.provider && s.principal.role === 'admin';
  return GRANTS[s.principal.role].includes(p);
}

export const roleLabel: Record<Role, string> = { admin: 'Admin', operator: 'Operator (read-only)', provisioner: 'Provisioner' };

export const noPermission = (s: Session): string =>
  s.principal ? `Your token's role (${roleLabel[s.principal.role]}) cannot make this change.` : 'Your token cannot make this change.';

type Page = { items: unknown[]; nextCursor: string | null };

/**
 * Where a fresh sign-in opens when the link names no account. A home that holds nothing of its own (no
 * certificate, no credential) and has exactly one sub-account — a provider right after `twoway up`
 * made the demo account, or with its first customer — opens that sub-account, where the work is;
 * otherwise the home. Anything the token cannot read keeps the home.
 */
export async function landingAccount(api: Api, home: AccountRef): Promise<AccountRef | null> {
  const acc = `/accounts/${encodeURIComponent(home.id)}`;
  try {
    const [certs, creds, children] = await Promise.all([
      api.get<Page>(`${acc}/certificates`, { limit: 1 }),
      api.get<Page>(`${acc}/credentials`, { limit: 1 }),
      api.get<{ items: AccountRef[]; nextCursor: string | null }>(`${acc}/children`, { limit: 2 }),
    ]);
    const only = children.items.length === 1 && !children.nextCursor ? children.items[0]! : null;
    return certs.items.length === 0 && creds.items.length === 0 && only ? { id: only.id, name: only.name } : null;
  } catch {
    return null;
  }
}

export async function signIn(api: Api, token: string, accountId: string | null): Promise<Session> {
  if (!accountId) {
    const who = await api.get<{ principal: Principal }>('/whoami');
    const acc = await api.get<{ id: string; name: string }>(`/accounts/${encodeURIComponent(who.principal.accountId)}`);
    return { token, principal: who.principal, homeAccount: { id: acc.id, name: acc.name } };
  }
  const acc = await api.get<{ id: string; name: string }>(`/accounts/${encodeURIComponent(accountId)}`);
  return { token, principal: null, homeAccount: { id: acc.id, name: acc.name } };
}
