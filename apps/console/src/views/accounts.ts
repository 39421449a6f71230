// Accounts: the tree below the signed-in account. Children load when a node is opened; "Manage" makes
// an account the one every other view works on; sub-accounts inherit their ancestors' trust anchors.
import type { Account } from '@twoway/contracts';
import { type ApiError, errorMessage } from '../api.js';
import { formatDate, h, icon, replace } from '../dom.js';
import { can, noPermission, type Ctx } from '../session.js';
import { openDialog } from '../ui/dialog.js';
import { busy, errorBox, field, loading, pageHeader } from '../ui/parts.js';
import { toast } from '../ui/toast.js';
import type { View } from './view.js';

type Page = { items: Account[]; nextCursor: string | null };

export function accountsView(ctx: Ctx, navigate: (route: string) => void): View {
  const mayWrite = can(ctx.session, 'write');
  const home = ctx.session.homeAccount;
  const tree = h('ul', { class: 'tree', 'aria-label': 'Account tree' });

  function node(acc: { id: string; name: string; createdAt?: string }, depth: number, open: boolean): HTMLLIElement {
    const children = h('ul', { class: 'tree-children', role: 'group' });
    const toggleBtn = h('button', { type: 'button', class: 'btn-icon tree-toggle', 'aria-expanded': 'false', 'aria-label': `Show sub-accounts of ${acc.name}` }, icon('chevron'));
    let loaded = false;
    const expand = async (): Promise<void> => {
      const isOpen = toggleBtn.getAttribute('aria-expanded') === 'true';
      toggleBtn.setAttribute('aria-expanded', String(!isOpen));
      children.hidden = isOpen;
      if (isOpen || loaded) return;
      replace(children, h('li', null, loading('Loading sub-accounts…')));
      try {
        const items: Account[] = [];
        let cursor: string | null = null;
        do {
          const page: Page = await ctx.api.get<Page>(`/accounts/${encodeURIComponent(acc.id)}/children`, { limit: 200, cursor });
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor);
        loaded = true;
        replace(children, items.length ? items.map((c) => node(c, depth + 1, false)) : h('li', { class: 'tree-empty muted small' }, 'No sub-accounts.'));
      } catch (e) {
        replace(children, h('li', null, errorBox(errorMessage(e), (e as ApiError).code)));
      }
    };
    toggleBtn.addEventListener('click', () => void expand());
    const current = acc.id === ctx.account.id;
    const row = h(
      'li',
      { class: current ? 'tree-node is-current' : 'tree-node', 'data-account-id': acc.id },
      h(
        'div',
        { class: 'tree-row' },
        toggleBtn,
        h('div', { class: 'tree-main' }, h('span', { class: 'cell-title' }, acc.name), h('span', { class: 'mono small muted' }, acc.id), current ? h('span', { class: 'tag tag-brand' }, 'Managing') : null),
        acc.createdAt ? h('span', { class: 'small muted col-opt' }, `created ${formatDate(acc.createdAt)}`) : null,
        h(
          'div',
          { class: 'tree-actions' },
          current ? null : h('button', { type: 'button', class: 'btn btn-sm', onclick: () => (ctx.setAccount({ id: acc.id, name: acc.name }), navigate('certificates')) }, 'Manage'),
          h('button', { type: 'button', class: 'btn btn-sm', disabled: !mayWrite, title: mayWrite ? null : noPermission(ctx.session), onclick: () => createDialog(acc) }, icon('plus'), 'Sub-account'),
        ),
      ),
      children,
    );
    // Set through CSSOM: the console's CSP forbids inline style attributes.
    row.querySelector<HTMLElement>('.tree-row')?.style.setProperty('--depth', String(depth));
    children.hidden = true;
    if (open) void expand();
    return row;
  }

  function createDialog(parent: { id: string; name: string }): void {
    const name = h('input', { type: 'text', class: 'input', required: true, maxlength: '128', autocomplete: 'off' });
    const msg = h('div', { class: 'form-msg' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: 'create-account-form' }, 'Create account');
    const form = h('form', { id: 'create-account-form', class: 'form', novalidate: true }, h('p', { class: 'muted' }, 'A sub-account of ', h('strong', null, parent.name), '. It trusts the certificates registered above it and can have its own.'), field('Name', name), msg);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!name.value.trim()) {
        replace(msg, errorBox('Give the account a name.'));
        name.focus();
        return;
      }
      void busy(submit, async () => {
        try {
          const acc = await ctx.api.post<Account>('/accounts', { name: name.value.trim(), parentId: parent.id });
          d.close();
          toast(`Created account “${acc.name}”.`);
          render();
        } catch (e) {
          replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
        }
      });
    });
    const d = openDialog({ title: 'Create sub-account', body: form, footer: [h('button', { type: 'button', class: 'btn', onclick: () => d.close() }, 'Cancel'), submit] });
    name.focus();
  }

  function render(): void {
    replace(tree, node(home, 0, true));
  }
  render();

  return {
    el: h(
      'div',
      { class: 'page' },
      pageHeader('Accounts', ['Your account and the accounts below it. Certificates registered in an account apply to all of its sub-accounts.']),
      h('section', { class: 'card card-pad' }, tree),
    ),
  };
}
