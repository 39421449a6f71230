// Test a connection ("Why refused?"): paste or upload a device's chain, its client id, username and
// optionally its password; the broker decides as it would for a real CONNECT, without connecting
// (POST /api/v1/accounts/{id}/dry-run), and the page shows the decision, the reason, what it means, the
// fix, the path with the registrations each certificate matched, and the settings that applied.
// Opened from an audit row of a refusal with its client id and username filled in (#/test-connection?clientId=…).
import type { DryRunCertificate, DryRunPathEntry, DryRunResult } from '@twoway/contracts';
import { errorMessage, type ApiError } from '../api.js';
import { formatTime, h, icon, replace, shortFingerprint, uid } from '../dom.js';
import { checkPem } from '../pem-check.js';
import type { Ctx } from '../session.js';
import { badge, busy, errorBox, field, pageHeader, table } from '../ui/parts.js';
import type { View } from './view.js';

/** The hash of this page for a device, as an audit row links to it. */
export function testConnectionHref(accountId: string, device: { clientId?: string; username?: string }): string {
  const q = new URLSearchParams({ account: accountId });
  if (device.clientId) q.set('clientId', device.clientId);
  if (device.username) q.set('username', device.username);
  return `#/test-connection?${q}`;
}

const ROLE: Record<DryRunPathEntry['role'], string> = { leaf: 'Device', intermediate: 'Intermediate', anchor: 'Anchor' };
const VALIDITY: Record<DryRunCertificate['validity'], { label: string; tone: 'ok' | 'danger' | 'warn' }> = {
  valid: { label: 'In date', tone: 'ok' },
  expired: { label: 'Expired', tone: 'danger' },
  not_yet_valid: { label: 'Not yet valid', tone: 'warn' },
};
const STATUS_TONE = { VALID: 'ok', SUSPENDED: 'warn', REVOKED: 'danger' } as const;

function registrations(c: DryRunCertificate): HTMLElement {
  if (!c.registrations.length) return h('span', { class: 'muted' }, 'Not registered');
  return h(
    'div',
    { class: 'regs' },
    c.registrations.map((r) =>
      h(
        'div',
        null,
        badge(r.status === 'VALID' ? 'Valid' : r.status === 'SUSPENDED' ? 'Suspended' : 'Revoked', STATUS_TONE[r.status]),
        ' ',
        r.name ? `“${r.name}”` : h('span', { class: 'mono small' }, r.id),
        r.inherited ? h('span', { class: 'muted small' }, ' · from a parent account') : null,
        r.fingerprint !== c.fingerprint ? h('span', { class: 'muted small' }, ' · another copy of this CA') : null,
      ),
    ),
  );
}

function certRow(c: DryRunCertificate, first: HTMLElement | string, blocked: string | undefined): HTMLTableRowElement {
  const v = VALIDITY[c.validity];
  return h(
    'tr',
    { class: blocked && c.registrations.some((r) => r.fingerprint === blocked) ? 'row-refused' : null, 'data-fingerprint': c.fingerprint },
    h('td', null, first),
    h('td', null, h('div', { class: 'cell-title break' }, c.subject), h('div', { class: 'cell-sub mono', title: c.fingerprint }, `SHA-256 ${shortFingerprint(c.fingerprint)}`)),
    h('td', null, badge(v.label, v.tone), h('div', { class: 'cell-sub' }, `until ${formatTime(c.notAfter)}`)),
    h('td', null, registrations(c)),
  );
}

function settingsText(s: NonNullable<DryRunResult['settings']>): string {
  const mutual = !s.mutualTls.available ? 'not available' : s.mutualTls.enabled ? 'on' : 'off';
  const fallback = s.fallback === 'used' ? 'used by this device' : s.fallback === 'available' ? 'on (a device without a trusted certificate may use its password)' : 'off';
  const bind = s.identity.bindCertificateTo === 'none' ? 'not bound' : `bound to the ${s.identity.bindCertificateTo === 'both' ? 'client id and username' : s.identity.bindCertificateTo === 'clientId' ? 'client id' : 'username'}`;
  return `Mutual TLS ${mutual} · plain TLS ${s.tls.enabled ? 'on' : 'off'} · fallback ${fallback} · certificate name ${bind} · credentials found by ${s.identity.credentialLookup === 'username' ? 'username' : s.identity.credentialLookup === 'certificateCn' ? 'certificate CN' : 'certificate subject'}`;
}

export function resultCard(r: DryRunResult): HTMLElement {
  const admitted = r.decision === 'admit';
  const rows: [string, string | HTMLElement | undefined][] = [
    ['Account', r.account ?? 'None: no credential of this account or below it matched'],
    ['Credential', r.credential.found ? `${r.credential.username ?? 'found'}${r.credential.accountId && r.credential.accountId !== r.account ? ` (account ${r.credential.accountId})` : ''}` : 'Not found'],
    ['Password', r.password.checked ? 'Checked' : 'Not checked'],
    ['Settings', r.settings ? settingsText(r.settings) : undefined],
    ['Chain', `${r.chain.status}${r.chain.reason ? ` (${r.chain.reason})` : ''}${r.chain.detail ? `: ${r.chain.detail}` : ''}`],
    ['Decided by', `${r.replica} at ${formatTime(r.decidedAt)}`],
  ];
  const path = r.chain.path.length
    ? h(
        'div',
        { class: 'field' },
        h('h3', { class: 'card-subtitle' }, r.chain.status === 'trusted' || r.chain.status === 'blocked' ? 'Path' : 'Best candidate path'),
        table(['Role', 'Certificate', 'Validity', 'Registration'], r.chain.path.map((p) => certRow(p, h('div', null, ROLE[p.role], h('div', { class: 'cell-sub' }, p.from === 'presented' ? 'sent by the device' : 'from the registry')), r.chain.blockedBy?.fingerprint)), 'Certificate path'),
      )
    : null;
  const presented = !r.chain.path.length && r.chain.presented.length
    ? h('div', { class: 'field' }, h('h3', { class: 'card-subtitle' }, 'Certificates presented'), table(['#', 'Certificate', 'Validity', 'Registration'], r.chain.presented.map((c, i) => certRow(c, String(i + 1), r.chain.blockedBy?.fingerprint)), 'Certificates presented'))
    : null;
  return h(
    'section',
    { class: 'card card-pad dry-run-result', 'aria-labelledby': 'dr-result', 'data-decision': r.decision },
    h('h2', { id: 'dr-result', class: 'card-title' }, admitted ? 'The broker would let this device in' : 'The broker would refuse this device'),
    h('div', { class: 'decision-line' }, badge(admitted ? 'Admit' : 'Refuse', admitted ? 'ok' : 'danger'), h('code', { class: 'reason' }, r.reason), r.returnCode !== undefined ? h('span', { class: 'muted small' }, `CONNACK ${r.returnCode}`) : r.mode ? h('span', { class: 'muted small' }, `${r.mode} TLS`) : null),
    h('p', { class: 'explanation' }, r.explanation),
    r.fix ? h('div', { class: 'alert alert-info fix' }, h('strong', null, 'Fix: '), r.fix) : null,
    r.password.note ? h('p', { class: 'hint password-note' }, r.password.note) : null,
    h('dl', { class: 'details' }, rows.filter(([, v]) => v).map(([k, v]) => [h('dt', null, k), h('dd', { class: k === 'Account' ? 'mono' : null }, v)])),
    path,
    presented,
    r.notes.length ? h('ul', { class: 'notes hint' }, r.notes.map((n) => h('li', null, n))) : null,
  );
}

export function testConnectionView(ctx: Ctx): View {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const pem = h('textarea', { class: 'input mono pem', rows: '8', spellcheck: 'false', placeholder: '-----BEGIN CERTIFICATE-----\nMIIB… (the device’s own certificate first, then its intermediates)\n-----END CERTIFICATE-----' });
  const file = h('input', { type: 'file', accept: '.pem,.crt,.cer,.cert,text/plain,application/x-pem-file', class: 'file-input', id: uid('file') });
  const clientId = h('input', { type: 'text', class: 'input', maxlength: '256', autocomplete: 'off', spellcheck: 'false', value: params.get('clientId') ?? '' });
  const username = h('input', { type: 'text', class: 'input', maxlength: '256', autocomplete: 'off', spellcheck: 'false', value: params.get('username') ?? '' });
  const password = h('input', { type: 'password', class: 'input', maxlength: '1024', autocomplete: 'off' });
  const pemState = h('div', { class: 'pem-state', 'aria-live': 'polite' });
  const msg = h('div', { class: 'form-msg' });
  const result = h('div', { class: 'dry-run-out', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Test connection');

  file.addEventListener('change', () => {
    const f = file.files?.[0];
    if (!f) return;
    if (f.size > 64 * 1024) return replace(pemState, h('span', { class: 'text-danger' }, 'That file is larger than 64 KiB; a device chain is a few KiB.'));
    void f.text().then((text) => {
      if (!/-----BEGIN /.test(text)) return replace(pemState, h('span', { class: 'text-danger' }, 'That file is not PEM (binary DER?). Convert it: openssl x509 -inform der -in cert.der -out cert.pem'));
      pem.value = text;
      showCheck();
    });
  });
  /** A private key was pasted and dropped: its message stays, and nothing is sent, until a chain is given. */
  let droppedKey = false;
  /** The chain to send ('' for none), or null when it must not be sent (a private key is dropped at once). */
  const showCheck = (): string | null => {
    if (!pem.value.trim()) {
      if (droppedKey) return null;
      replace(pemState, h('span', { class: 'muted' }, 'No certificate: tested as a device that presents none.'));
      return '';
    }
    droppedKey = false;
    const r = checkPem(pem.value);
    if (!r.ok) {
      if (r.code === 'CERT_PRIVATE_KEY_REJECTED') {
        pem.value = '';
        droppedKey = true;
      }
      pem.setAttribute('aria-invalid', 'true');
      replace(pemState, h('span', { class: 'text-danger' }, r.message));
      return null;
    }
    pem.removeAttribute('aria-invalid');
    replace(pemState, h('span', { class: 'text-ok' }, r.pems.length === 1 ? '✓ One certificate.' : `✓ ${r.pems.length} certificates, the device’s own first.`));
    return r.pems.join('');
  };
  pem.addEventListener('input', () => (replace(msg), showCheck()));

  const form = h(
    'form',
    { class: 'form card card-pad', novalidate: true, 'aria-label': 'Device to test' },
    field('Certificate chain', pem, 'PEM, as the device presents it: its own certificate first, then the intermediates it sends. Leave it empty for a device without a certificate. Never a private key.'),
    h('div', { class: 'file-row' }, file, h('label', { for: file.id, class: 'btn btn-sm' }, icon('upload'), 'Choose a file…'), h('span', { class: 'muted small' }, '.pem, .crt or .cer')),
    pemState,
    h('div', { class: 'grid-2' }, field('Client id', clientId, 'The MQTT client id the device sends.'), field('Username', username, 'The MQTT username the device sends.')),
    field('Password (optional)', password, 'Checked, never stored, logged or shown. Without it the answer assumes the right password and says what the check needs.'),
    msg,
    h('div', { class: 'form-actions' }, submit),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    replace(msg);
    const chain = showCheck();
    if (chain === null) {
      replace(msg, errorBox('Fix the certificate chain first; nothing was sent.'));
      pem.focus();
      return;
    }
    const body = {
      ...(chain ? { chain } : {}),
      ...(clientId.value.trim() ? { clientId: clientId.value.trim() } : {}),
      ...(username.value.trim() ? { username: username.value.trim() } : {}),
      ...(password.value ? { password: password.value } : {}),
    };
    void busy(submit, async () => {
      try {
        const r = await ctx.api.post<DryRunResult>(`/accounts/${encodeURIComponent(ctx.account.id)}/dry-run`, body);
        replace(result, resultCard(r));
        result.querySelector<HTMLElement>('.card-title')?.scrollIntoView?.({ block: 'nearest' });
      } catch (e) {
        replace(result);
        replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
      }
    });
  });
  showCheck();

  return {
    el: h(
      'div',
      { class: 'page' },
      pageHeader('Test a connection', ['Why would a device of ', h('strong', null, ctx.account.name), ' be let in or refused? The broker decides as for a real connection, now, without connecting: nothing happens to the device.']),
      form,
      result,
    ),
  };
}
