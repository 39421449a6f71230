// API tokens of the account: create (the secret is shown exactly once, with a copy button) and revoke.
import type { Role, TokenInfo } from '@twoway/contracts';
import { type ApiError, errorMessage } from '../api.js';
import { PagedList } from '../paged-list.js';
import { dateInputToIso, formatDate, h, icon, replace } from '../dom.js';
import { can, noPermission, roleLabel, type Ctx } from '../session.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { badge, busy, emptyState, errorBox, field, loading, pageHeader, table } from '../ui/parts.js';
import { toast } from '../ui/toast.js';
import type { View } from './view.js';


const ROLE_TEXT: Record<Role, string> = {
  admin: 'Admin — everything in this account and below',
  operator: 'Operator — read-only',
  provisioner: 'Provisioner — add, suspend and revoke certificates only (for external PKI systems)',
};

export function tokensView(ctx: Ctx): View {
  const base = `/accounts/${encodeURIComponent(ctx.account.id)}/tokens`;
  const mayWrite = can(ctx.session, 'write');
  const results = h('section', { class: 'card', 'aria-label': 'Token list' }, loading('Loading tokens…'));
  const list = new PagedList<TokenInfo>(ctx.api, base, () => render(), (e) => replace(results, errorBox(errorMessage(e), (e as ApiError).code)));
  const load = (more = false) => list.load(more);

  const state = (t: TokenInfo): HTMLElement =>
    t.revokedAt ? badge('Revoked', 'danger') : t.expiresAt && new Date(t.expiresAt).getTime() < Date.now() ? badge('Expired', 'neutral') : badge('Active', 'ok');

  function render(): void {
    if (!list.items.length) {
      replace(results, emptyState('No tokens', 'Create a token for another administrator, a read-only dashboard, or an external PKI system that provisions certificates.', mayWrite ? createBtn() : null));
      return;
    }
    const rows = list.items.map((t) => {
      const self = ctx.session.principal?.tokenId === t.id;
      return h(
        'tr',
        { 'data-token-id': t.id },
        h('td', null, h('div', { class: 'cell-title' }, t.name, self ? h('span', { class: 'tag tag-brand' }, 'This session') : null), h('div', { class: 'cell-sub mono' }, t.id)),
        h('td', null, roleLabel[t.role]),
        h('td', null, state(t)),
        h('td', { class: 'col-opt' }, t.expiresAt ? formatDate(t.expiresAt) : 'Never'),
        h('td', { class: 'col-opt' }, formatDate(t.createdAt)),
        h(
          'td',
          { class: 'cell-actions' },
          t.revokedAt ? null : h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', disabled: !mayWrite, 'aria-label': `Revoke ${t.name}`, onclick: () => void revoke(t, self) }, 'Revoke'),
        ),
      );
    });
    replace(
      results,
      table(['Name', 'Role', 'Status', { label: 'Expires', cls: 'col-opt' }, { label: 'Created', cls: 'col-opt' }, { label: 'Actions', cls: 'sr-only-th' }], rows, `API tokens of ${ctx.account.name}`),
      list.nextCursor ? h('div', { class: 'load-more' }, h('button', { type: 'button', class: 'btn', onclick: () => void load(true) }, 'Load more')) : null,
    );
  }

  async function revoke(t: TokenInfo, self: boolean): Promise<void> {
    const ok = await confirmDialog({
      title: 'Revoke token?',
      message: h('p', null, `Anything using “${t.name}” is refused from its next request. ${self ? 'This is the token of this session: you will be signed out.' : ''}`),
      confirmLabel: 'Revoke token',
      danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.del(`${base}/${encodeURIComponent(t.id)}`);
      toast(`Revoked “${t.name}”.`);
      await load();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  }

  function createDialog(): void {
    const name = h('input', { type: 'text', class: 'input', required: true, maxlength: '128', autocomplete: 'off' });
    const role = h('select', { class: 'input' }, (Object.keys(ROLE_TEXT) as Role[]).map((r) => h('option', { value: r, selected: r === 'operator' }, ROLE_TEXT[r])));
    const expires = h('input', { type: 'date', class: 'input' });
    const msg = h('div', { class: 'form-msg' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: 'create-token-form' }, 'Create token');
    const form = h('form', { id: 'create-token-form', class: 'form', novalidate: true }, field('Name', name, 'Who or what uses it, e.g. “Factory PKI”.'), field('Role', role), field('Expires (optional)', expires), msg);
    const cancel = h('button', { type: 'button', class: 'btn', onclick: () => d.close() }, 'Cancel');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!name.value.trim()) return replace(msg, errorBox('Give the token a name.')), name.focus();
      void busy(submit, async () => {
        try {
          const body: Record<string, unknown> = { name: name.value.trim(), role: role.value };
          const exp = dateInputToIso(expires.value);
          if (exp) body.expiresAt = exp;
          const created = await ctx.api.post<{ id: string; token: string }>(base, body);
          showSecret(created.token);
          void load();
        } catch (e) {
          replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
        }
      });
    });
    const d = openDialog({ title: 'Create API token', body: form, footer: [cancel, submit] });
    name.focus();

    /** The secret replaces the form in the same dialog and is gone when the dialog closes. */
    function showSecret(secret: string): void {
      const out = h('input', { type: 'text', class: 'input mono', readonly: true, value: secret, id: 'new-token-secret' });
      const copied = h('span', { class: 'small text-ok', 'aria-live': 'polite' });
      const copy = h(
        'button',
        {
          type: 'button',
          class: 'btn btn-primary',
          onclick: () => {
            void navigator.clipboard
              ?.writeText(secret)
              .then(() => (copied.textContent = 'Copied to the clipboard.'))
              .catch(() => {
                out.select();
                copied.textContent = 'Selected: press Ctrl+C to copy.';
              });
          },
        },
        icon('copy'),
        'Copy',
      );
      replace(
        d.body,
        h('div', { class: 'alert alert-info' }, h('strong', null, 'Copy this token now. '), 'It is shown only once; twoway keeps only a hash of it.'),
        h('div', { class: 'field' }, h('label', { for: out.id }, 'Token'), h('div', { class: 'input-group' }, out, copy)),
        copied,
      );
      const done = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => d.close() }, 'Done');
      d.el.querySelector('.dialog-foot')?.replaceChildren(done);
      out.select();
      copy.focus();
    }
  }

  const createBtn = (): HTMLButtonElement =>
    h('button', { type: 'button', class: 'btn btn-primary', disabled: !mayWrite, title: mayWrite ? null : noPermission(ctx.session), onclick: () => createDialog() }, icon('plus'), 'Create token');

  void load();
  return { el: h('div', { class: 'page' }, pageHeader('API tokens', ['Tokens that reach ', h('strong', null, ctx.account.name), ' and the accounts below it.'], createBtn()), results) };
}
