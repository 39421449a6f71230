// Certificates: the account's trust anchors with their status; Add (PEM checked before submit; a chain
// file is previewed and registered as one entry per certificate), suspend / revoke / restore from the
// row, and Edit (rename, status, delete). A status change is confirmed first, with what it affects and
// how many live sessions it would end right now.
import type { Certificate, CertificateBatch, CertificateSessions, CertKind, CertStatus, ExpiryState } from '@twoway/contracts';
import { ApiError, errorMessage } from '../api.js';
import { debounce, formatDate, formatTime, h, icon, relative, replace, shortFingerprint, uid } from '../dom.js';
import { derOfPem, summarize } from '../cert-summary.js';
import { checkPem } from '../pem-check.js';
import { can, noPermission, type Ctx } from '../session.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { badge, busy, emptyState, errorBox, field, loading, pageHeader, table, type Tone } from '../ui/parts.js';
import { toast } from '../ui/toast.js';
import type { View } from './view.js';

export const STATUS: Record<CertStatus, { label: string; tone: Tone }> = {
  VALID: { label: 'Valid', tone: 'ok' },
  SUSPENDED: { label: 'Suspended', tone: 'warn' },
  REVOKED: { label: 'Revoked', tone: 'danger' },
};
const KIND: Record<CertKind, string> = { root: 'Root CA', intermediate: 'Intermediate CA', leaf: 'Device' };
/** The API says where each certificate stands against its notAfter and the installation's warning window. */
const EXPIRY: Record<Exclude<ExpiryState, 'ok'>, { label: string; tone: Tone }> = {
  expiring: { label: 'Expires soon', tone: 'warn' },
  expired: { label: 'Expired', tone: 'danger' },
};
export const expiryBadge = (c: Certificate): HTMLElement | null => (c.expiry && c.expiry !== 'ok' ? badge(EXPIRY[c.expiry].label, EXPIRY[c.expiry].tone) : null);
/** The expiry filter: `expiresWithinDays` (0: expired only). */
const EXPIRES_WITHIN: [string, string][] = [
  ['', 'Any expiry'],
  ['0', 'Expired'],
  ['7', 'Expiring within 7 days'],
  ['30', 'Expiring within 30 days'],
  ['90', 'Expiring within 90 days'],
];

/** Who a status change reaches, in the words an operator needs before confirming it. */
export function affected(c: Certificate, accountName: string): string {
  switch (c.kind) {
    case 'root':
      return `every device whose certificate chains to this root CA, in ${accountName} and all its sub-accounts`;
    case 'intermediate':
      return `every device whose certificate was issued below this intermediate CA, in ${accountName} and all its sub-accounts`;
    default:
      return 'the one device that presents this certificate';
  }
}

export function statusChangeMessage(c: Certificate, to: CertStatus, accountName: string): string {
  const who = affected(c, accountName);
  if (to === 'VALID') return `After restoring “${c.name}”, ${who} can connect again, unless another certificate on their chain is suspended or revoked.`;
  const verb = to === 'SUSPENDED' ? 'Suspending' : 'Revoking';
  const after = to === 'SUSPENDED' ? 'You can restore it at any time.' : 'Revoked means invalid by intent; it can still be restored here if this was a mistake.';
  // docs/broker.md, "Suspending shuts the device out" and "Credentials that require a certificate":
  // the fallback to username and password is closed too, for sure only by the credential's setting.
  return `${verb} “${c.name}” refuses new connections from ${who}, and ends their live sessions on every broker within seconds. Without their certificate they are refused too when their credential requires a verified certificate, or last connected through this certificate. Other credentials keep username-and-password access where the account has plain TLS on. ${after}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * “3 live sessions on 2 brokers will end, in 2 accounts: Acme IoT (2), Factory Berlin (1)”, from the
 * brokers' count, and how many of those devices could come back on their password alone.
 */
export function blastRadiusText(r: CertificateSessions, names: ReadonlyMap<string, string>): { tone: 'ok' | 'warn' | 'danger'; text: string; fallback?: string } {
  const replicas = `${plural(r.replicas, 'broker replica', 'broker replicas')} answered`;
  if (r.replicas === 0) return { tone: 'warn', text: 'No broker answered in time, so the live sessions could not be counted. The change still reaches every broker.' };
  if (r.sessions === 0) return { tone: 'ok', text: `No live session goes through it right now (${replicas}).` };
  const accounts = r.accounts.map((a) => `${names.get(a.accountId) ?? a.accountId} (${a.sessions})`).join(', ');
  const more = r.accountsTruncated ? ' and more' : '';
  const n = r.accounts.length + (r.accountsTruncated ? 1 : 0);
  const fallback =
    r.couldFallBack === null
      ? 'Whether these devices could reconnect with their password alone is not known: a broker replica did not say.'
      : r.couldFallBack === 0
        ? 'None of these devices can reconnect with its password alone: their credentials require a certificate, or their accounts have plain TLS off.'
        : `${r.couldFallBack} of these devices could reconnect with their password alone, because their credentials do not require a certificate and plain TLS is on in their accounts; only the chain each credential last connected with still holds them back. Set “Requires a verified certificate” on those credentials to keep them out for sure.`;
  return {
    tone: 'danger',
    text: `${plural(r.sessions, 'live session', 'live sessions')} on ${plural(r.replicasWithSessions, 'broker', 'brokers')} will end, in ${r.accountsTruncated ? 'more than ' : ''}${r.accounts.length} ${n === 1 ? 'account' : 'accounts'}: ${accounts}${more} (${replicas}).`,
    fallback,
  };
}

const ACTIONS: Record<CertStatus, { to: CertStatus; label: string; cls: string }[]> = {
  VALID: [
    { to: 'SUSPENDED', label: 'Suspend', cls: 'btn-danger-ghost' },
    { to: 'REVOKED', label: 'Revoke', cls: 'btn-danger-ghost' },
  ],
  SUSPENDED: [
    { to: 'VALID', label: 'Restore', cls: '' },
    { to: 'REVOKED', label: 'Revoke', cls: 'btn-danger-ghost' },
  ],
  REVOKED: [{ to: 'VALID', label: 'Restore', cls: '' }],
};

export function certificatesView(ctx: Ctx): View {
  const base = `/accounts/${encodeURIComponent(ctx.account.id)}/certificates`;
  const mayWrite = can(ctx.session, 'certificates.write');
  const filters = { q: '', status: '', kind: '', expiresWithinDays: '' };
  let items: Certificate[] = [];
  let nextCursor: string | null = null;
  let generation = 0;

  const results = h('section', { class: 'card', 'aria-label': 'Certificate list' });
  const count = h('span', { class: 'count', 'aria-live': 'polite' });

  const search = h('input', { type: 'search', class: 'input', placeholder: 'Search name, subject or fingerprint', id: uid('q') });
  const status = h(
    'select',
    { class: 'input', id: uid('status') },
    h('option', { value: '' }, 'All statuses'),
    (Object.keys(STATUS) as CertStatus[]).map((s) => h('option', { value: s }, STATUS[s].label)),
  );
  const kind = h(
    'select',
    { class: 'input', id: uid('kind') },
    h('option', { value: '' }, 'All kinds'),
    (Object.keys(KIND) as CertKind[]).map((k) => h('option', { value: k }, KIND[k])),
  );
  const expiry = h('select', { class: 'input', id: uid('expiry') }, EXPIRES_WITHIN.map(([v, label]) => h('option', { value: v }, label)));
  search.addEventListener('input', debounce(() => ((filters.q = search.value.trim()), void load()), 250));
  expiry.addEventListener('change', () => ((filters.expiresWithinDays = expiry.value), void load()));
  status.addEventListener('change', () => ((filters.status = status.value), void load()));
  kind.addEventListener('change', () => ((filters.kind = kind.value), void load()));

  const addBtn = h(
    'button',
    { type: 'button', class: 'btn btn-primary', disabled: !mayWrite, title: mayWrite ? null : noPermission(ctx.session), onclick: () => addDialog() },
    icon('plus'),
    'Add certificate',
  );

  async function load(append = false): Promise<void> {
    const gen = ++generation;
    if (!append) replace(results, loading('Loading certificates…'));
    try {
      const page = await ctx.api.get<{ items: Certificate[]; nextCursor: string | null }>(base, {
        q: filters.q,
        status: filters.status,
        kind: filters.kind,
        expiresWithinDays: filters.expiresWithinDays,
        limit: 50,
        cursor: append ? nextCursor : undefined,
      });
      if (gen !== generation) return;
      items = append ? [...items, ...page.items] : page.items;
      nextCursor = page.nextCursor;
      render();
    } catch (e) {
      if (gen === generation) replace(results, errorBox(errorMessage(e), (e as ApiError).code));
    }
  }

  function render(): void {
    const filtered = filters.q || filters.status || filters.kind || filters.expiresWithinDays;
    count.textContent = `${items.length}${nextCursor ? '+' : ''} ${items.length === 1 ? 'certificate' : 'certificates'}`;
    if (items.length === 0) {
      const days = filters.expiresWithinDays;
      replace(
        results,
        days && !filters.q && !filters.status && !filters.kind
          ? emptyState('Nothing to renew', days === '0' ? 'No certificate of this account has expired.' : `No certificate of this account expires within ${days} days.`)
          : filtered
          ? emptyState('No matching certificates', 'Nothing matches these filters. Clear the search or pick another status.')
          : emptyState(
              'No certificates yet',
              'Add the root or intermediate CA that issued your devices’ certificates, or a single device certificate to pin one device.',
              mayWrite ? h('button', { type: 'button', class: 'btn btn-primary', onclick: () => addDialog() }, icon('plus'), 'Add certificate') : null,
            ),
      );
      return;
    }
    const rows = items.map((c) => {
      const expired = c.expiry === 'expired';
      return h(
        'tr',
        { 'data-cert-id': c.id, 'data-expiry': c.expiry ?? null },
        h('td', null, h('div', { class: 'cell-title' }, c.name), h('div', { class: 'cell-sub', title: c.subject }, c.subject)),
        h('td', { class: 'col-opt' }, KIND[c.kind]),
        // The expiry badge sits with the status: the Expires column is hidden on narrow screens.
        h('td', null, h('div', { class: 'badges' }, badge(STATUS[c.status].label, STATUS[c.status].tone), expiryBadge(c))),
        h('td', { class: 'col-opt col-wide mono small', title: c.fingerprint }, shortFingerprint(c.fingerprint)),
        h(
          'td',
          { class: 'col-opt' },
          h('div', null, formatDate(c.notAfter)),
          h('div', { class: expired ? 'cell-sub text-danger' : c.expiry === 'expiring' ? 'cell-sub text-warn' : 'cell-sub' }, expired ? `expired ${relative(c.notAfter)}` : relative(c.notAfter)),
        ),
        h(
          'td',
          { class: 'cell-actions' },
          // Wraps onto two lines rather than widening the table past the window.
          h(
            'div',
            { class: 'row-actions' },
            mayWrite
              ? ACTIONS[c.status].map((a) =>
                  h('button', { type: 'button', class: `btn btn-sm ${a.cls}`, 'data-action': 'status', 'data-to': a.to, 'aria-label': `${a.label} ${c.name}`, onclick: () => void quickStatus(c, a.to) }, a.label),
                )
              : null,
            h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Edit ${c.name}`, onclick: () => editDialog(c) }, 'Edit'),
          ),
        ),
      );
    });
    replace(
      results,
      table(['Name', { label: 'Kind', cls: 'col-opt' }, 'Status', { label: 'Fingerprint', cls: 'col-opt col-wide' }, { label: 'Expires', cls: 'col-opt' }, { label: 'Actions', cls: 'sr-only-th' }], rows, `Certificates of ${ctx.account.name}`),
      nextCursor ? h('div', { class: 'load-more' }, h('button', { type: 'button', class: 'btn', onclick: () => void load(true) }, 'Load more')) : null,
    );
  }

  function addDialog(): void {
    const name = h('input', { type: 'text', class: 'input', required: true, maxlength: '256', autocomplete: 'off' });
    const usage = h('select', { class: 'input' }, h('option', { value: 'MUTUAL_AUTHENTICATION' }, 'Mutual authentication'));
    const pem = h('textarea', { class: 'input mono pem', rows: '10', spellcheck: 'false', placeholder: '-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----' });
    const file = h('input', { type: 'file', accept: '.pem,.crt,.cer,.cert,text/plain,application/x-pem-file', class: 'file-input' });
    const pemState = h('div', { class: 'pem-state', 'aria-live': 'polite' });
    /** The entries of a chain file, as they will be registered. */
    const preview = h('div', { class: 'chain-preview' });
    const msg = h('div', { class: 'form-msg' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', form: uid('add-form') }, 'Add certificate');
    let entries = 0;

    const entryName = (base: string, n: number, kind: string): string => `${base || 'Name'} #${n} (${kind})`;
    const renderPreview = (pems: string[]): void => {
      entries = pems.length;
      submit.textContent = pems.length > 1 ? `Add ${pems.length} certificates` : 'Add certificate';
      if (pems.length < 2) return replace(preview);
      const rows = pems.map((p, i) => {
        let cells: HTMLElement[];
        try {
          const c = summarize(derOfPem(p));
          cells = [h('td', null, h('div', { class: 'cell-title' }, entryName(name.value.trim(), i + 1, c.kind)), h('div', { class: 'cell-sub mono', title: c.subject }, c.subject)), h('td', { class: 'mono small', title: c.issuer }, c.issuer), h('td', null, KIND[c.kind])];
        } catch (e) {
          cells = [h('td', { colspan: '3', class: 'text-danger' }, `Cannot read it here (${errorMessage(e)}); the API will say what is wrong.`)];
        }
        return h('tr', { 'data-entry': String(i + 1) }, h('td', { class: 'entry-n' }, String(i + 1)), ...cells);
      });
      replace(
        preview,
        h('p', { class: 'hint' }, 'Each certificate becomes its own entry, named after yours with its place and kind. All are stored, or none (a duplicate, an expired certificate or a weak key refuses the whole file). Trust only what you mean to: a root covers every device below it.'),
        table(['#', 'Entry and subject', 'Issuer', 'Kind'], rows, 'Certificates in this file'),
      );
    };
    const showCheck = (): boolean => {
      if (!pem.value.trim()) {
        replace(pemState);
        renderPreview([]);
        pem.removeAttribute('aria-invalid');
        return false;
      }
      const r = checkPem(pem.value);
      if (r.ok) {
        pem.removeAttribute('aria-invalid');
        replace(pemState, h('span', { class: 'text-ok' }, r.pems.length === 1 ? '✓ One PEM certificate, ready to add.' : `✓ A chain file: ${r.pems.length} certificates, each added as its own entry.`));
        renderPreview(r.pems);
      } else {
        pem.setAttribute('aria-invalid', 'true');
        replace(pemState, h('span', { class: 'text-danger' }, r.message));
        renderPreview([]);
      }
      return r.ok;
    };
    const check = debounce(showCheck, 200);
    // A new paste supersedes the last submit's error: the live check below speaks for the new text.
    pem.addEventListener('input', () => (replace(msg), check()));
    name.addEventListener('input', debounce(() => entries > 1 && showCheck(), 200));
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (!f) return;
      if (f.size > 64 * 1024) {
        replace(pemState, h('span', { class: 'text-danger' }, 'That file is larger than 64 KiB; a certificate is a few KiB, a chain of them a few more.'));
        return;
      }
      void f.text().then((text) => {
        if (!/-----BEGIN /.test(text)) {
          replace(pemState, h('span', { class: 'text-danger' }, 'That file is not PEM (binary DER?). Convert it: openssl x509 -inform der -in cert.der -out cert.pem'));
          return;
        }
        pem.value = text;
        replace(msg);
        if (!name.value.trim()) name.value = f.name.replace(/\.(pem|crt|cer|cert)$/i, '');
        if (!showCheck() && /PRIVATE KEY/.test(text)) pem.value = '';
      });
    });

    const form = h(
      'form',
      { id: submit.getAttribute('form') ?? undefined, class: 'form', novalidate: true },
      field('Name', name, 'How you will recognise it, e.g. “Factory line 2 intermediate”.'),
      field('Usage', usage, 'Devices whose client certificate chains to this certificate may use mutual TLS.'),
      field('Public certificate', pem, 'PEM text with the BEGIN and END lines: one certificate, or a chain file (each certificate becomes an entry). Never a private key.'),
      h('div', { class: 'file-row' }, file, h('label', { for: (file.id = uid('file')), class: 'btn btn-sm' }, icon('upload'), 'Choose a file…'), h('span', { class: 'muted small' }, '.pem, .crt or .cer')),
      pemState,
      preview,
      msg,
    );
    /** The API names the refused entry (“entry 2 (intermediate): …”): mark it in the preview. */
    const markRefused = (message: string): void => {
      for (const row of preview.querySelectorAll<HTMLElement>('tr[data-entry]')) row.classList.remove('row-refused');
      const n = /entry (\d+)/.exec(message)?.[1];
      const row = n ? preview.querySelector<HTMLElement>(`tr[data-entry="${n}"]`) : null;
      row?.classList.add('row-refused');
      row?.querySelector('.entry-n')?.append(h('span', { class: 'text-danger' }, ' refused'));
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      replace(msg);
      if (!name.value.trim()) {
        replace(msg, errorBox('Give the certificate a name.'));
        name.setAttribute('aria-invalid', 'true');
        name.focus();
        return;
      }
      name.removeAttribute('aria-invalid');
      const check = checkPem(pem.value);
      if (!check.ok) {
        // A private key is dropped from the form at once: it must not linger, and it is never sent.
        if (check.code === 'CERT_PRIVATE_KEY_REJECTED') pem.value = '';
        replace(msg, errorBox(check.message, check.code));
        pem.focus();
        return;
      }
      const split = check.pems.length > 1;
      void busy(submit, async () => {
        try {
          const body = { name: name.value.trim(), usage: usage.value, certificate: check.pems.join('') };
          const created = split ? (await ctx.api.post<CertificateBatch>(`${base}?split=true`, body)).items : [await ctx.api.post<Certificate>(base, body)];
          d.close();
          toast(created.length === 1 ? `Added “${created[0]!.name}” (${KIND[created[0]!.kind]}).` : `Added ${created.length} certificates: ${created.map((c) => `“${c.name}”`).join(', ')}.`);
          await load();
        } catch (e) {
          const message = errorMessage(e);
          replace(msg, errorBox(message, (e as ApiError).code));
          if (split) markRefused(message);
        }
      });
    });
    const d = openDialog({ title: 'Add certificate', body: form, wide: true, footer: [h('button', { type: 'button', class: 'btn', onclick: () => d.close() }, 'Cancel'), submit] });
    name.focus();
  }

  /** After a list reload the opener is gone: put focus back on the same certificate's row, on its first action. */
  function refocus(certId: string): void {
    const row = results.querySelector<HTMLElement>(`tr[data-cert-id="${CSS.escape(certId)}"]`);
    (row?.querySelector<HTMLElement>('[data-action=status]') ?? row?.querySelector<HTMLElement>('button'))?.focus();
  }

  /** Account names for the blast radius, asked once per account (ids the token cannot read stay ids). */
  const accountNames = new Map<string, string>([[ctx.account.id, ctx.account.name]]);
  async function namesOf(ids: readonly string[]): Promise<ReadonlyMap<string, string>> {
    await Promise.all(
      ids
        .filter((id) => !accountNames.has(id))
        .map((id) =>
          ctx.api.get<{ name: string }>(`/accounts/${encodeURIComponent(id)}`).then(
            (a) => void accountNames.set(id, a.name),
            () => undefined,
          ),
        ),
    );
    return accountNames;
  }

  /** What the change would end right now, counted by the brokers (GET …/sessions); filled in when it arrives. */
  function blastRadius(c: Certificate): HTMLElement {
    const el = h('div', { class: 'blast-radius', role: 'status' }, loading('Counting the live sessions it would end…'));
    void ctx.api
      .get<CertificateSessions>(`${base}/${encodeURIComponent(c.id)}/sessions`)
      .then(async (r) => {
        const t = blastRadiusText(r, await namesOf(r.accounts.map((a) => a.accountId)));
        replace(
          el,
          h('div', { class: `alert alert-${t.tone === 'ok' ? 'ok' : t.tone === 'warn' ? 'info' : 'error'}` }, h('span', null, h('strong', null, 'Live now: '), t.text, t.fallback ? h('span', { class: 'fallback-risk', 'data-could-fall-back': String(r.couldFallBack) }, ' ', t.fallback) : null)),
        );
      })
      .catch((e: unknown) => replace(el, h('div', { class: 'alert alert-info' }, `The live sessions could not be counted: ${errorMessage(e)}`)));
    return el;
  }

  /** The one confirmation of a status change, from the list and from Edit alike. */
  function confirmStatusChange(c: Certificate, to: CertStatus): Promise<boolean> {
    const verb = to === 'VALID' ? 'Restore' : to === 'SUSPENDED' ? 'Suspend' : 'Revoke';
    return confirmDialog({
      title: `${verb} certificate?`,
      message: [h('p', null, statusChangeMessage(c, to, ctx.account.name)), to === 'VALID' ? null : blastRadius(c), h('p', { class: 'muted small mono' }, c.subject)],
      confirmLabel: `${verb} certificate`,
      danger: to !== 'VALID',
    });
  }

  /** Suspend, revoke or restore straight from the list, with the same confirmation as in Edit; focus stays on the row. */
  async function quickStatus(c: Certificate, to: CertStatus): Promise<void> {
    if (!(await confirmStatusChange(c, to))) return;
    try {
      const updated = await ctx.api.patch<Certificate>(`${base}/${encodeURIComponent(c.id)}`, { status: to });
      toast(`“${updated.name}” is now ${STATUS[updated.status].label.toLowerCase()}.`);
      await load();
    } catch (e) {
      toast(errorMessage(e), 'error');
    }
    refocus(c.id);
  }

  function editDialog(c: Certificate): void {
    const group = uid('status');
    const choices: { value: CertStatus; label: string; text: string }[] = [
      { value: 'VALID', label: 'Valid', text: 'Trusted for mutual TLS.' },
      { value: 'SUSPENDED', label: 'Suspended', text: 'Temporarily not trusted; restore it later.' },
      { value: 'REVOKED', label: 'Revoked', text: 'Not trusted, by intent.' },
    ];
    const radios = choices.map((ch) => {
      const input = h('input', { type: 'radio', name: group, value: ch.value, id: uid('st'), checked: ch.value === c.status, disabled: !mayWrite });
      return h('div', { class: 'radio-card' }, input, h('label', { for: input.id }, h('span', { class: 'radio-title' }, badge(ch.label, STATUS[ch.value].tone)), h('span', { class: 'radio-text' }, ch.text)));
    });
    const name = h('input', { type: 'text', class: 'input', value: c.name, maxlength: '256', autocomplete: 'off', disabled: !mayWrite });
    const msg = h('div', { class: 'form-msg' });
    const chosen = (): CertStatus => (d.el.querySelector<HTMLInputElement>(`input[name="${group}"]:checked`)?.value as CertStatus) ?? c.status;
    const save = h('button', { type: 'button', class: 'btn btn-primary', disabled: !mayWrite }, 'Save');
    const del = h('button', { type: 'button', class: 'btn btn-danger-ghost', disabled: !mayWrite }, 'Delete');

    save.addEventListener('click', () => {
      const to = chosen();
      const newName = name.value.trim();
      if (!newName) {
        replace(msg, errorBox('Give the certificate a name.'));
        name.setAttribute('aria-invalid', 'true');
        name.focus();
        return;
      }
      const patch: { name?: string; status?: CertStatus } = {};
      if (newName !== c.name) patch.name = newName;
      if (to !== c.status) patch.status = to;
      if (!patch.name && !patch.status) return d.close();
      void (async () => {
        if (patch.status && !(await confirmStatusChange(c, to))) return;
        await busy(save, async () => {
          try {
            const updated = await ctx.api.patch<Certificate>(`${base}/${encodeURIComponent(c.id)}`, patch);
            d.close();
            toast(patch.status ? `“${updated.name}” is now ${STATUS[updated.status].label.toLowerCase()}.` : `Renamed to “${updated.name}”.`);
            await load();
            refocus(c.id);
          } catch (e) {
            replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
          }
        });
      })();
    });
    del.addEventListener('click', () => {
      void (async () => {
        const ok = await confirmDialog({
          title: 'Delete certificate?',
          message: [
            h('p', null, `Deleting “${c.name}” removes it from ${ctx.account.name}: ${affected(c, ctx.account.name)} will no longer be trusted through it, and it leaves no status behind. To stop trust temporarily, suspend it instead.`),
            blastRadius(c),
          ],
          confirmLabel: 'Delete certificate',
          danger: true,
        });
        if (!ok) return;
        try {
          await ctx.api.del(`${base}/${encodeURIComponent(c.id)}`);
          d.close();
          toast(`Deleted “${c.name}”.`);
          await load();
        } catch (e) {
          replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
        }
      })();
    });

    const dl = h(
      'dl',
      { class: 'details' },
      [
        ['Kind', KIND[c.kind]],
        ['Status', badge(STATUS[c.status].label, STATUS[c.status].tone)],
        ['Subject', h('span', { class: 'mono' }, c.subject)],
        ['Issuer', h('span', { class: 'mono' }, c.issuer)],
        ['Serial', h('span', { class: 'mono' }, c.serial)],
        ['SHA-256', h('span', { class: 'mono break' }, c.fingerprint)],
        ['Valid', h('span', { class: 'badges' }, `${formatTime(c.notBefore)} – ${formatTime(c.notAfter)}`, expiryBadge(c))],
        ['Key', c.keyType],
        ['Added', formatTime(c.createdAt)],
      ].map(([k, v]) => [h('dt', null, k as string), h('dd', null, v as Node | string)]),
    );
    const d = openDialog({
      title: c.name,
      wide: true,
      body: [
        field('Name', name, 'Only the name changes; trust and status stay as they are.'),
        dl,
        h('fieldset', { class: 'radio-group' }, h('legend', null, 'Status'), radios),
        mayWrite ? null : h('p', { class: 'hint' }, noPermission(ctx.session)),
        msg,
      ],
      footer: [del, h('span', { class: 'spacer' }), h('button', { type: 'button', class: 'btn', onclick: () => d.close() }, 'Cancel'), save],
    });
  }

  void load();
  const el = h(
    'div',
    { class: 'page' },
    pageHeader('Certificates', ['Trust anchors of ', h('strong', null, ctx.account.name), ': root and intermediate CAs for whole fleets, or one device’s certificate.'], addBtn),
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h('div', { class: 'search' }, h('label', { for: search.id, class: 'sr-only' }, 'Search certificates'), icon('search', 'icon search-icon'), search),
      h('label', { for: status.id, class: 'sr-only' }, 'Status'),
      status,
      h('label', { for: kind.id, class: 'sr-only' }, 'Kind'),
      kind,
      h('label', { for: expiry.id, class: 'sr-only' }, 'Expiry'),
      expiry,
      count,
    ),
    results,
  );
  return { el };
}
