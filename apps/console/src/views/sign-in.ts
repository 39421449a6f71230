// Sign in with an API token. The account comes from GET /whoami; an API without it asks for the account id.
import { Api, ApiError, errorMessage } from '../api.js';
import { h, replace } from '../dom.js';
import { signIn, type Session } from '../session.js';
import { field } from '../ui/parts.js';
import { logo } from './logo.js';

export function signInView(onSignedIn: (s: Session) => void, notice?: string): HTMLElement {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, class: 'input mono' });
  const account = h('input', { type: 'text', name: 'account', autocomplete: 'off', spellcheck: 'false', class: 'input mono' });
  const accountField = field('Account id', account, 'The id of the account this token belongs to.');
  accountField.hidden = true;
  const show = h('input', { type: 'checkbox', id: 'show-token' });
  show.addEventListener('change', () => (token.type = show.checked ? 'text' : 'password'));
  const msg = h('div', { class: 'form-msg' });
  if (notice) replace(msg, h('div', { class: 'alert alert-info', role: 'status' }, notice));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');

  const form = h(
    'form',
    { class: 'signin-form', novalidate: true },
    field('API token', token, 'An admin, operator or provisioner token. It stays in this browser tab only.'),
    h('div', { class: 'check' }, show, h('label', { for: 'show-token' }, 'Show token')),
    accountField,
    msg,
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      const t = token.value.trim();
      if (!t) {
        replace(msg, h('div', { class: 'alert alert-error', role: 'alert' }, 'Enter your API token.'));
        token.focus();
        return;
      }
      submit.disabled = true;
      replace(msg);
      try {
        const api = new Api(t);
        onSignedIn(await signIn(api, t, accountField.hidden ? null : account.value.trim() || null));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && accountField.hidden) {
          // No whoami on this API: the token alone does not say which account it manages.
          accountField.hidden = false;
          replace(msg, h('div', { class: 'alert alert-info', role: 'status' }, 'Enter the id of the account this token belongs to.'));
          account.focus();
        } else {
          const text = e instanceof ApiError && e.status === 401 ? 'That token is not valid, has expired or was revoked.' : errorMessage(e);
          replace(msg, h('div', { class: 'alert alert-error', role: 'alert' }, text));
        }
      } finally {
        submit.disabled = false;
      }
    })();
  });

  return h(
    'main',
    { class: 'signin', id: 'main' },
    h(
      'div',
      { class: 'signin-card' },
      h('div', { class: 'signin-brand' }, logo(), h('span', null, 'twoway')),
      h('h1', null, 'Sign in'),
      h('p', { class: 'muted' }, 'Manage trust anchors, connection settings and device credentials for your MQTT fleet.'),
      form,
    ),
    h('p', { class: 'signin-foot muted' }, 'Mutual-TLS authentication for MQTT devices'),
  );
}
