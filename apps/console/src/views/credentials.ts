// Credentials: the MQTT usernames and passwords of the account's devices. Passwords go in once and are
// never shown again (the API stores only a hash).
import { GENERATED_PASSWORD_LENGTH, passwordFromBytes, type Credential } from '@twoway/contracts';
import { type ApiError, errorMessage } from '../api.js';
import { PagedList } from '../paged-list.js';
import { dateInputToIso, formatDate, formatTime, h, icon, replace, shortFingerprint } from '../dom.js';
import { can, noPermission, type Ctx } from '../session.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { badge, busy, emptyState, errorBox, field, loading, pageHeader, table } from '../ui/parts.js';
import { toast } from '../ui/toast.js';
import type { View } from './view.js';


/** 24 characters of base64url (no quoting needed in a shell): 144 bits from the platform CSPRNG, the CLI's alphabet. */
export const generatePassword = (): string => passwordFromBytes(crypto.getRandomValues(new Uint8Array(GENERATED_PASSWORD_LENGTH)));

/** Copy to the clipboard, saying so; where the page may not write it, the text is selected for Ctrl-C. */
export function copyButton(label: string, text: () => string, select?: HTMLInputElement): HTMLButtonElement {
  const btn: HTMLButtonElement = h('button', { type: 'button', class: 'btn btn-sm' }, icon('copy'), label);
  btn.addEventListener('click', () => {
    void navigator.clipboard
      ?.writeText(text())
      .then(() => toast('Copied to the clipboard.'))
      .catch(() => (select?.select(), toast('Select and copy it with Ctrl-C.', 'info')));
  });
  return btn;
}

/** The host devices reach the broker on: the console's host (the gateway and brokers share a name in the dev setup). */
const brokerHost = (): string => location.hostname || 'localhost';

/** A copy-paste command that connects a device of this account (the CA file is the one devices trust). */
export const exampleCommand = (username: string, withCert: boolean): string =>
  `mosquitto_pub -h ${brokerHost()} -p 8883 --cafile ca.pem ${withCert ? '--cert device.pem --key device.key ' : ''}-i ${username} -u ${username} -P "$PASSWORD" -t hello -m hi -d`;

export function credentialsView(ctx: Ctx): View {
  const base = `/accounts/${encodeURIComponent(ctx.account.id)}/credentials`;
  const mayWrite = can(ctx.session, 'write');
  const results = h('section', { class: 'card', 'aria-label': 'Credential list' }, loading('Loading credentials…'));
  const list = new PagedList<Credential>(ctx.api, base, () => render(), (e) => replace(results, errorBox(errorMessage(e), (e as ApiError).code)));
  const load = (more = false) => list.load(more);

  function state(c: Credential): HTMLElement {
    if (c.expiresAt && new Date(c.expiresAt).getTime() < Date.now()) return badge('Expired', 'neutral');
    return c.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'warn');
  }

  function render(): void {
    if (!list.items.length) {
      replace(results, emptyState('No credentials yet', 'Add a username and password for each device (or group of devices) that connects to this account.', mayWrite ? addBtn('btn btn-primary') : null));
      return;
    }
    const rows = list.items.map((c) =>
      h(
        'tr',
        { 'data-credential-id': c.id },
        h('td', null, h('span', { class: 'cell-title mono' }, c.username)),
        h('td', null, state(c)),
        h('td', { class: 'col-opt' }, c.lastChain ? h('span', { class: 'mono small', title: `Chain (leaf first): ${c.lastChain.path.join(' → ')}` }, `CA ${shortFingerprint(c.lastChain.path[c.lastChain.path.length - 1] ?? '')}`, h('div', { class: 'cell-sub' }, formatTime(c.lastChain.seenAt))) : h('span', { class: 'muted small' }, 'never with a certificate')),
        h('td', { class: 'col-opt' }, c.expiresAt ? formatDate(c.expiresAt) : 'Never'),
        h('td', { class: 'col-opt' }, formatDate(c.createdAt)),
        h(
          'td',
          { class: 'cell-actions' },
          h('button', { type: 'button', class: 'btn btn-sm', disabled: !mayWrite, 'aria-label': `${c.enabled ? 'Disable' : 'Enable'} ${c.username}`, onclick: (ev: Event) => void setEnabled(c, !c.enabled, ev.currentTarget as HTMLButtonElement) }, c.enabled ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', disabled: !mayWrite, 'aria-label': `Delete ${c.username}`, onclick: () => void remove(c) }, 'Delete'),
        ),
      ),
    );
    replace(
      results,
      table(['Username', 'Status', { label: 'Last certificate', cls: 'col-opt' }, { label: 'Expires', cls: 'col-opt' }, { label: 'Created', cls: 'col-opt' }, { label: 'Actions', cls: 'sr-only-th' }], rows, `Credentials of ${ctx.account.name}`),
      list.nextCursor ? h('div', { class: 'load-more' }, h('button', { type: 'button', class: 'btn', onclick: () => void load(true) }, 'Load more')) : null,
    );
  }

  async function setEnabled(c: Credential, enabled: boolean, btn: HTMLButtonElement): Promise<void> {
    if (!enabled) {
      const ok = await confirmDialog({ title: 'Disable credential?', message: h('p', null, `Devices using “${c.username}” can no longer connect with it until you enable it again.`), confirmLabel: 'Disable', danger: true });
      if (!ok) return;
    }
    await busy(btn, async () => {
      try {
        await ctx.api.patch(`${base}/${encodeURIComponent(c.id)}`, { enabled });
        toast(`${enabled ? 'Enabled' : 'Disabled'} “${c.username}”.`);
        await load();
      } catch (e) {
        toast(errorMessage(e), 'error');
      }
    });
  }

  async function remove(c: Credential): Promise<void> {
    const ok = await confirmDialog({ title: 'Delete credential?', message: h('p', null, `Devices using “${c.username}” can no longer connect with it. This cannot be undone.`), confirmLabel: 'Delete credential', danger: true });
    if (!ok) return;
    try {
      await ctx.api.del(`${base}/${encodeURIComponent(c.id)}`);
      toast(`Deleted “${c.username}”.`);
      await load();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
  }

  function addDialog(): void {
    const username = h('input', { type: 'text', class: 'input mono', autocomplete: 'off', spellcheck: 'false', required: true });
    const password = h('input', { type: 'password', class: 'input mono', autocomplete: 'new-password', required: true, minlength: '8' });
    const expires = h('input', { type: 'date', class: 'input' });
    const show = h('input', { type: 'checkbox', id: 'cred-show' });
    show.addEventListener('change', () => (password.type = show.checked ? 'text' : 'password'));
    const gen = h('button', { type: 'button', class: 'btn btn-sm', onclick: () => ((password.value = generatePassword()), (password.type = 'text'), (show.checked = true)) }, 'Generate');
    const copy = copyButton('Copy', () => password.value, password);
    const msg = h('div', { class: 'form-msg' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: 'add-credential-form' }, 'Add credential');
    const form = h(
      'form',
      { id: 'add-credential-form', class: 'form', novalidate: true },
      field('Username', username, 'The MQTT username the device sends in CONNECT.'),
      field('Password', password, 'At least 8 characters. Copy it to the device now: it is stored hashed and never shown again.'),
      h('div', { class: 'inline-row' }, h('div', { class: 'check' }, show, h('label', { for: 'cred-show' }, 'Show password')), gen, copy),
      field('Expires (optional)', expires, 'After this day the credential stops working.'),
      msg,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      replace(msg);
      if (!username.value.trim()) return replace(msg, errorBox('Enter a username.')), username.focus();
      if (password.value.length < 8) return replace(msg, errorBox('The password needs at least 8 characters.')), password.focus();
      void busy(submit, async () => {
        try {
          const body: Record<string, unknown> = { username: username.value.trim(), password: password.value };
          const exp = dateInputToIso(expires.value);
          if (exp) body.expiresAt = exp;
          await ctx.api.post(base, body);
          const secret = password.value;
          password.value = '';
          d.close();
          toast(`Added credential “${String(body.username)}”.`);
          await load();
          copyNow(String(body.username), secret);
        } catch (e) {
          replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
        }
      });
    });
    const d = openDialog({ title: 'Add credential', body: form, footer: [h('button', { type: 'button', class: 'btn', onclick: () => d.close() }, 'Cancel'), submit], onClose: () => (password.value = '') });
    username.focus();
  }

  /** The one moment the password can still be copied: say so, and show how a device connects with it. */
  function copyNow(username: string, secret: string): void {
    const shown = h('input', { type: 'text', class: 'input mono', readonly: true, value: secret, 'aria-label': 'Password' });
    const cmd = h('pre', { class: 'json wrap', 'aria-label': 'Example command' }, exampleCommand(username, true));
    const d = openDialog({
      title: 'Copy the password now',
      body: [
        h('p', null, 'It is stored hashed and ', h('strong', null, 'never shown again'), `. Put it on the device that connects as “${username}”.`),
        h('div', { class: 'input-group' }, shown, copyButton('Copy password', () => secret, shown)),
        h('p', { class: 'muted' }, 'Connect it (ca.pem: the broker’s CA, e.g. data/pki/ca.pem from twoway up; leave out --cert/--key where the account accepts username and password alone):'),
        cmd,
        copyButton('Copy command', () => cmd.textContent ?? ''),
      ],
      footer: h('button', { type: 'button', class: 'btn btn-primary', onclick: () => d.close() }, 'I have copied it'),
      onClose: () => (shown.value = ''),
    });
    shown.select();
  }

  const addBtn = (cls = 'btn btn-primary'): HTMLButtonElement =>
    h('button', { type: 'button', class: cls, disabled: !mayWrite, title: mayWrite ? null : noPermission(ctx.session), onclick: () => addDialog() }, icon('plus'), 'Add credential');

  void load();
  const howTo = h(
    'details',
    { class: 'card card-pad how-to' },
    h('summary', null, 'How a device connects'),
    h('p', null, 'Broker: ', h('code', null, `mqtts://${brokerHost()}:8883`), '. The device trusts the broker’s CA (', h('code', null, 'data/pki/ca.pem'), ' with twoway up, or your own server CA), sends its username and password, and — with mutual TLS on — its client certificate and key. “Last certificate” shows the CA each credential last connected with: suspending that CA shuts the device out, also without its certificate.'),
    h('pre', { class: 'json wrap' }, exampleCommand('<username>', true)),
  );
  return { el: h('div', { class: 'page' }, pageHeader('Credentials', ['MQTT usernames and passwords of devices in ', h('strong', null, ctx.account.name), '.'], addBtn()), howTo, results) };
}
