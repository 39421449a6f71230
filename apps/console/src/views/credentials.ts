// Credentials: the MQTT usernames and passwords of the account's devices. Passwords go in once and are
// never shown again (the API stores only a hash). Each says whether it requires a verified certificate
// (no way in on the password alone), set when it is added and switched from its row.
import { GENERATED_PASSWORD_LENGTH, passwordFromBytes, requireCertificateDefault, type ConnectionInfo, type Credential, type Settings } from '@twoway/contracts';
import { type ApiError, errorMessage } from '../api.js';
import { PagedList } from '../paged-list.js';
import { dateInputToIso, formatDate, formatTime, h, icon, replace, shortFingerprint } from '../dom.js';
import { BIND } from './settings.js';
import { can, noPermission, type Ctx } from '../session.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { DEVICE_FILES, mosquittoPub } from '../device-command.js';
import { badge, busy, copyButton, emptyState, errorBox, field, loading, pageHeader, table, toggle } from '../ui/parts.js';
import { toast } from '../ui/toast.js';
import type { View } from './view.js';

/** 24 characters of base64url (no quoting needed in a shell): 144 bits from the platform CSPRNG, the CLI's alphabet. */
export const generatePassword = (): string => passwordFromBytes(crypto.getRandomValues(new Uint8Array(GENERATED_PASSWORD_LENGTH)));

/** What the account's identity binding asks of a device using this credential (Settings, "Identity binding"). */
export function bindingOf(username: string, bind: Settings['identity']['bindCertificateTo']): { text: string; hint: string } {
  switch (bind) {
    case 'clientId':
      return { text: 'CN = client id', hint: 'The certificate’s CN (or a SAN) must equal the MQTT client id.' };
    case 'username':
      return { text: `CN = ${username}`, hint: `Only a certificate naming “${username}” (CN or SAN) can use this credential.` };
    case 'both':
      return { text: `CN = ${username} = client id`, hint: `Only a certificate naming “${username}”, with that client id, can use this credential.` };
    default:
      return { text: 'Not bound', hint: 'Any device with a certificate the account trusts can use this credential.' };
  }
}

/** What “requires a verified certificate” means for this credential under the account's settings (unknown: not yet loaded). */
export function requirementOf(c: Pick<Credential, 'requireCertificate'>, s: Settings | undefined): { text: string; hint: string; tone: 'ok' | 'warn' | 'neutral' } {
  const mtls = s ? s.mutualTls.available && s.mutualTls.enabled : undefined;
  if (c.requireCertificate) {
    if (mtls === false) return { text: 'Certificate required', hint: 'Mutual TLS is off for this account, so no certificate can be verified: devices using this credential are refused.', tone: 'warn' };
    return { text: 'Certificate required', hint: 'Only a verified, clean client certificate gets the device in: never its password alone.', tone: 'ok' };
  }
  if (!s) return { text: 'Password alone allowed', hint: 'Where the account has plain TLS on, the device gets in on its password without a trusted certificate.', tone: 'neutral' };
  if (!mtls) return { text: 'Password', hint: 'The account has mutual TLS off: devices connect with username and password.', tone: 'neutral' };
  if (!s.tls.enabled) return { text: 'Certificate (account)', hint: 'Plain TLS is off, so the account itself requires a verified certificate.', tone: 'neutral' };
  return {
    text: 'Password alone allowed',
    hint: 'Without a trusted certificate the device still gets in on its password (fallback), also after the CA of its certificate is suspended, unless the chain this credential last connected with is.',
    tone: 'warn',
  };
}

export function credentialsView(ctx: Ctx): View {
  const base = `/accounts/${encodeURIComponent(ctx.account.id)}/credentials`;
  const mayWrite = can(ctx.session, 'write');
  const results = h('section', { class: 'card', 'aria-label': 'Credential list' }, loading('Loading credentials…'));
  const list = new PagedList<Credential>(ctx.api, base, () => render(), (e) => replace(results, errorBox(errorMessage(e), (e as ApiError).code)));
  const load = (more = false) => list.load(more);
  // What the rows and the copy dialog say about connecting: the account's identity binding and the
  // broker endpoint. Either may be missing (a failed request): the list works without them.
  let settings: Settings | undefined;
  let conn: ConnectionInfo | undefined;
  const binding = h('div', { class: 'binding-note', 'aria-live': 'polite' });
  void ctx.api.get<Settings>(`/accounts/${encodeURIComponent(ctx.account.id)}/settings`).then(
    (s) => {
      settings = s;
      showBinding(s);
      if (list.items.length) render();
    },
    () => undefined,
  );
  void ctx.api.get<ConnectionInfo>('/connection-info').then((c) => (conn = c), () => undefined);

  function showBinding(s: Settings): void {
    const bind = s.identity.bindCertificateTo;
    const mtls = s.mutualTls.available && s.mutualTls.enabled;
    const settingsLink = h('a', { href: `#/settings?account=${encodeURIComponent(ctx.account.id)}` }, 'Settings');
    replace(
      binding,
      !mtls
        ? null
        : bind === 'none'
          ? h('div', { class: 'alert alert-info' }, h('span', null, h('strong', null, 'Identity binding: not bound. '), 'A device with any certificate this account trusts can log in with any of these credentials. For one device, one secret, bind certificates to the client id or username in ', settingsLink, '.'))
          : h('p', { class: 'hint' }, h('strong', null, `Identity binding: ${BIND[bind]}. `), 'Each row says which certificate may use the credential (', settingsLink, ').'),
    );
  }

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
        h('td', null, h('span', { class: 'cell-title mono' }, c.username), settings ? bindingCell(c.username, settings) : null),
        h('td', null, state(c)),
        h('td', null, requirementCell(c)),
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
      table(['Username', 'Status', 'Certificate', { label: 'Last certificate', cls: 'col-opt' }, { label: 'Expires', cls: 'col-opt' }, { label: 'Created', cls: 'col-opt' }, { label: 'Actions', cls: 'sr-only-th' }], rows, `Credentials of ${ctx.account.name}`),
      list.nextCursor ? h('div', { class: 'load-more' }, h('button', { type: 'button', class: 'btn', onclick: () => void load(true) }, 'Load more')) : null,
    );
  }

  function bindingCell(username: string, s: Settings): HTMLElement {
    const b = bindingOf(username, s.identity.bindCertificateTo);
    return h('div', { class: 'cell-sub cell-sub-wrap', title: b.hint, 'data-binding': s.identity.bindCertificateTo }, `Identity: ${b.text}`);
  }

  /** The requirement and, beside it, the switch to the other one (confirmed first). */
  function requirementCell(c: Credential): HTMLElement {
    const r = requirementOf(c, settings);
    return h(
      'div',
      { class: 'cell-stack', 'data-require-certificate': String(c.requireCertificate) },
      h('span', { title: r.hint }, badge(r.text, r.tone)),
      h(
        'button',
        { type: 'button', class: 'btn btn-sm btn-link', disabled: !mayWrite, 'aria-label': `${c.requireCertificate ? 'Allow password alone for' : 'Require a certificate for'} ${c.username}`, onclick: (ev: Event) => void setRequirement(c, !c.requireCertificate, ev.currentTarget as HTMLButtonElement) },
        c.requireCertificate ? 'Allow password' : 'Require certificate',
      ),
    );
  }

  async function setRequirement(c: Credential, requireCertificate: boolean, btn: HTMLButtonElement): Promise<void> {
    const ok = await confirmDialog(
      requireCertificate
        ? {
            title: 'Require a certificate?',
            message: h('p', null, `Devices using “${c.username}” then get in only with a verified, clean client certificate, never on the password alone. Its live sessions without one (password only, fallback) end now on every broker; sessions on a verified certificate stay.`),
            confirmLabel: 'Require certificate',
            danger: true,
          }
        : {
            title: 'Allow the password alone?',
            message: h('p', null, `Devices using “${c.username}” can then get in on the password alone where the account has plain TLS on — also after the CA of their certificate is suspended or revoked, unless the chain this credential last connected with is.`),
            confirmLabel: 'Allow password',
            danger: true,
          },
    );
    if (!ok) return;
    await busy(btn, async () => {
      try {
        await ctx.api.patch(`${base}/${encodeURIComponent(c.id)}`, { requireCertificate });
        toast(requireCertificate ? `“${c.username}” now requires a certificate.` : `“${c.username}” may now connect on its password alone.`);
        await load();
      } catch (e) {
        toast(errorMessage(e), 'error');
      }
    });
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
    // The API's own default when the box is left alone: on when the account has mutual TLS on.
    const requireCert = h('input', { type: 'checkbox', checked: settings ? requireCertificateDefault(settings) : true });
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
      toggle('Requires a verified certificate', requireCert, 'Only a verified, clean client certificate gets the device in, never its password alone — also when plain TLS is on and the CA of its certificate gets suspended. Turn it off only for devices without a certificate.'),
      msg,
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      replace(msg);
      if (!username.value.trim()) return replace(msg, errorBox('Enter a username.')), username.focus();
      if (password.value.length < 8) return replace(msg, errorBox('The password needs at least 8 characters.')), password.focus();
      void busy(submit, async () => {
        try {
          const body: Record<string, unknown> = { username: username.value.trim(), password: password.value, requireCertificate: requireCert.checked };
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
    const mtls = !settings || (settings.mutualTls.available && settings.mutualTls.enabled);
    const cmd = h(
      'pre',
      { class: 'json wrap', 'aria-label': 'Example command' },
      mosquittoPub({
        host: conn?.mqtt.host ?? (location.hostname || 'localhost'),
        port: conn?.mqtt.port ?? 8883,
        caFile: DEVICE_FILES.ca,
        ...(mtls ? { certFile: DEVICE_FILES.chain, keyFile: DEVICE_FILES.key } : {}),
        username,
        clientId: username,
        topic: 'devices/hello',
      }),
    );
    const d = openDialog({
      title: 'Copy the password now',
      body: [
        h('p', null, 'It is stored hashed and ', h('strong', null, 'never shown again'), `. Put it on the device that connects as “${username}”.`),
        h('div', { class: 'input-group' }, shown, copyButton('Copy password', () => secret, shown)),
        h('p', { class: 'muted' }, `Connect it, with the password in $MQTT_PASSWORD and ${DEVICE_FILES.ca} from “Connect a device” (Download server CA):`),
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
    'section',
    { class: 'card card-pad' },
    h(
      'p',
      { class: 'muted' },
      'A device sends one of these usernames and passwords, and — with mutual TLS on — its certificate chain and key. The broker’s address, the server CA to download and a ready-made command are under ',
      h('a', { href: `#/connect?account=${encodeURIComponent(ctx.account.id)}` }, 'Connect a device'),
      '. “Certificate required” means the device gets in only with a verified certificate, never on its password alone. Otherwise “Last certificate” shows the CA it last connected with: suspending that CA shuts the device out, also without its certificate.',
    ),
    binding,
  );
  return { el: h('div', { class: 'page' }, pageHeader('Credentials', ['MQTT usernames and passwords of devices in ', h('strong', null, ctx.account.name), '.'], addBtn()), howTo, results) };
}
