// The console shell: sign-in, sidebar navigation and a hash router (#/certificates …), so the gateway
// serves one static index.html at / and needs no server-side routes.
import { Api, type ApiError } from './api.js';
import { h, icon, replace } from './dom.js';
import { clearSession, landingAccount, loadCurrentAccount, loadSession, roleLabel, saveCurrentAccount, saveSession, type AccountRef, type Ctx, type Session } from './session.js';
import { toast, toastRegion } from './ui/toast.js';
import { accountsView } from './views/accounts.js';
import { auditView } from './views/audit.js';
import { certificatesView } from './views/certificates.js';
import { connectView } from './views/connect.js';
import { credentialsView } from './views/credentials.js';
import { logo } from './views/logo.js';
import { permissionsView } from './views/permissions.js';
import { settingsView } from './views/settings.js';
import { signInView } from './views/sign-in.js';
import { testConnectionView } from './views/test-connection.js';
import { tokensView } from './views/tokens.js';
import type { View } from './views/view.js';

const ROUTES = {
  certificates: { label: 'Certificates', icon: 'cert', view: (c: Ctx) => certificatesView(c) },
  settings: { label: 'Settings', icon: 'settings', view: (c: Ctx) => settingsView(c) },
  permissions: { label: 'Topic permissions', icon: 'shield', view: (c: Ctx) => permissionsView(c) },
  accounts: { label: 'Accounts', icon: 'accounts', view: (c: Ctx) => accountsView(c, navigate) },
  credentials: { label: 'Credentials', icon: 'key', view: (c: Ctx) => credentialsView(c) },
  connect: { label: 'Connect a device', icon: 'plug', view: (c: Ctx) => connectView(c) },
  'test-connection': { label: 'Test a connection', icon: 'search', view: (c: Ctx) => testConnectionView(c) },
  tokens: { label: 'API tokens', icon: 'token', view: (c: Ctx) => tokensView(c) },
  audit: { label: 'Audit', icon: 'audit', view: (c: Ctx) => auditView(c) },
} as const;
type Route = keyof typeof ROUTES;

const root = document.getElementById('app') as HTMLElement;
let current: View | undefined;
let ctx: Ctx | undefined;

/** `#/audit?account=<id>`: the page and the account it shows, so a reload or a shared link keeps both. */
export function parseHash(hash: string): { route: Route; accountId: string | null } {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  return { route: (path in ROUTES ? path : 'certificates') as Route, accountId: new URLSearchParams(query).get('account') };
}
const hrefOf = (route: string, accountId: string): string => `#/${route}?account=${encodeURIComponent(accountId)}`;

function navigate(route: string): void {
  if (!ctx) return;
  const href = hrefOf(route, ctx.account.id);
  if (location.hash === href) renderRoute();
  else location.hash = href;
}

const routeFromHash = (): Route => parseHash(location.hash).route;

const LEAVE_QUESTION = 'You have unsaved changes on this page. Leave and discard them?';
const SIGN_OUT_QUESTION = 'You have unsaved changes on this page. Sign out and discard them?';
/** The hash the current view was rendered for: where to go back to when the user keeps their changes. */
let shownHash = '';

/** The user's sign-out asks first when the page has unsaved changes; an ended session (401) cannot wait. */
function userSignOut(): void {
  if (current?.hasUnsavedChanges?.() && !window.confirm(SIGN_OUT_QUESTION)) return;
  signOut();
}

function signOut(notice?: string): void {
  current?.dispose?.();
  current = undefined;
  ctx = undefined;
  clearSession();
  // The next token may not reach the account this one was managing: forget it from the URL too.
  history.replaceState(null, '', `#/${routeFromHash()}`);
  // Notices belong to the session that raised them.
  toastRegion().replaceChildren();
  showSignIn(notice);
}

function showSignIn(notice?: string): void {
  replace(root, signInView((s) => start(s, true), notice), toastRegion());
  root.querySelector<HTMLInputElement>('input[name=token]')?.focus();
}

/** `signedIn`: a sign-in just now (not a reload of a kept session), which may land on a sub-account. */
function start(session: Session, signedIn = false): void {
  saveSession(session);
  let expired = false;
  const api = new Api(session.token, () => {
    // One 401 (revoked or expired token) ends the session for every view at once.
    if (expired) return;
    expired = true;
    signOut('Your session ended: the token was revoked or has expired. Sign in again.');
  });
  const account = loadCurrentAccount() ?? session.homeAccount;
  ctx = {
    api,
    session,
    account,
    setAccount: (a: AccountRef) => {
      if (!ctx) return;
      if (current?.hasUnsavedChanges?.() && !window.confirm(LEAVE_QUESTION)) return;
      ctx.account = a;
      saveCurrentAccount(a);
      history.replaceState(null, '', hrefOf(routeFromHash(), a.id));
      renderShell();
      toast(`Now managing “${a.name}”.`, 'info');
    },
  };
  void (signedIn ? land() : followHash()).then(renderShell);
}

/**
 * A sign-in at a link that names no account opens where the work is (`landingAccount`): the demo
 * account on a first run rather than the provider's empty home. Not when the user typed the account.
 */
async function land(): Promise<void> {
  if (ctx?.session.principal && !parseHash(location.hash).accountId) {
    const home = ctx.session.homeAccount;
    const to = await landingAccount(ctx.api, home);
    if (to && ctx) {
      ctx.account = to;
      saveCurrentAccount(to);
      toast(`Opened “${to.name}”, the one account below ${home.name}, which has no certificates or credentials of its own.`, 'info');
    }
  }
  await followHash();
}

/**
 * Make the account the URL names the managed one (a reload, a shared link, `twoway up`'s link).
 * An account the token cannot reach answers 404 and the session's account stays.
 */
async function followHash(): Promise<void> {
  if (!ctx) return;
  const wanted = parseHash(location.hash).accountId;
  if (wanted && wanted !== ctx.account.id) {
    try {
      const a = await ctx.api.get<{ id: string; name: string }>(`/accounts/${encodeURIComponent(wanted)}`);
      ctx.account = { id: a.id, name: a.name };
      saveCurrentAccount(ctx.account);
    } catch {
      toast('The link names an account you cannot open; showing your current account.', 'error');
    }
  }
  // The page's own parameters stay (Test a connection's client id and username from an audit row's link).
  const own = new URLSearchParams(location.hash.split('?')[1] ?? '');
  own.delete('account');
  history.replaceState(null, '', `${hrefOf(routeFromHash(), ctx.account.id)}${own.size ? `&${own}` : ''}`);
}

const main = h('main', { id: 'main', class: 'main', tabindex: '-1' });
const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });

function renderShell(): void {
  if (!ctx) return;
  const s = ctx.session;
  const menuBtn = h('button', { type: 'button', class: 'btn-icon menu-btn', 'aria-expanded': 'false', 'aria-controls': 'sidebar', 'aria-label': 'Menu' }, icon('menu'));
  const sidebar = h(
    'aside',
    { class: 'sidebar', id: 'sidebar' },
    h('div', { class: 'brand' }, logo(), h('span', null, 'twoway')),
    h(
      'div',
      { class: 'account-box' },
      h('div', { class: 'account-label' }, 'Account'),
      h('div', { class: 'account-name', title: ctx.account.id }, ctx.account.name),
      ctx.account.id !== s.homeAccount.id
        ? h('button', { type: 'button', class: 'link-btn', onclick: () => ctx?.setAccount(s.homeAccount) }, `Back to ${s.homeAccount.name}`)
        : h('div', { class: 'account-id mono' }, ctx.account.id),
      h('a', { href: hrefOf('accounts', ctx.account.id), class: 'link-btn account-switch' }, 'Switch account'),
    ),
    nav,
    h(
      'div',
      { class: 'sidebar-foot' },
      h('div', { class: 'who' }, h('div', { class: 'who-name' }, s.principal?.name ?? 'Signed in'), h('div', { class: 'who-role' }, s.principal ? `${roleLabel[s.principal.role]}${s.principal.provider ? ' · Provider' : ''}` : 'Token')),
      h('button', { type: 'button', class: 'btn-icon signout', 'aria-label': 'Sign out', title: 'Sign out', onclick: userSignOut }, icon('signout')),
    ),
  );
  menuBtn.addEventListener('click', () => {
    const open = menuBtn.getAttribute('aria-expanded') !== 'true';
    menuBtn.setAttribute('aria-expanded', String(open));
    sidebar.classList.toggle('open', open);
  });
  replace(
    root,
    h('a', { href: '#main', class: 'skip-link', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content'),
    h('div', { class: 'shell' }, h('header', { class: 'topbar' }, menuBtn, h('div', { class: 'brand' }, logo(24), h('span', null, 'twoway')), h('span', { class: 'topbar-account' }, ctx.account.name)), sidebar, main),
    toastRegion(),
  );
  renderRoute();
}

function renderRoute(): void {
  if (!ctx) return;
  const route = routeFromHash();
  replace(
    nav,
    h(
      'ul',
      null,
      (Object.keys(ROUTES) as Route[]).map((r) =>
        h('li', null, h('a', { href: hrefOf(r, ctx!.account.id), class: 'nav-link', 'aria-current': r === route ? 'page' : null }, icon(ROUTES[r].icon as Parameters<typeof icon>[0]), ROUTES[r].label)),
      ),
    ),
  );
  document.querySelector('.sidebar')?.classList.remove('open');
  document.querySelector('.menu-btn')?.setAttribute('aria-expanded', 'false');
  current?.dispose?.();
  current = ROUTES[route].view(ctx);
  replace(main, current.el);
  shownHash = location.hash;
  document.title = `${ROUTES[route].label} · ${ctx.account.name} · twoway`;
  // Move focus to the new page's heading so keyboard and screen-reader users land on the content.
  if (document.activeElement?.closest('.nav') || document.activeElement === document.body) main.querySelector<HTMLElement>('.page-title')?.focus();
}

window.addEventListener('hashchange', () => {
  if (current?.hasUnsavedChanges?.() && !window.confirm(LEAVE_QUESTION)) {
    history.replaceState(null, '', shownHash); // stay, changes kept
    return;
  }
  const before = ctx?.account.id;
  void followHash().then(() => (ctx && ctx.account.id !== before ? renderShell() : renderRoute()));
});
window.addEventListener('beforeunload', (e) => {
  if (current?.hasUnsavedChanges?.()) e.preventDefault();
});
window.addEventListener('unhandledrejection', (e) => toast((e.reason as ApiError)?.message ?? 'Something went wrong.', 'error'));

const saved = loadSession();
if (saved) start(saved);
else showSignIn();
