// Settings: plain TLS and mutual TLS for the account, and how a certificate is bound to a device identity.
// Mutual TLS availability is the provider's to grant; an account admin switches it on or off.
import type { Settings, SettingsPatch } from '@twoway/contracts';
import { h, replace } from '../dom.js';
import { can, noPermission, type Ctx } from '../session.js';
import { loadInto, saveBar } from '../ui/edit-page.js';
import { field, loading, pageHeader, toggle } from '../ui/parts.js';
import type { View } from './view.js';

export const BIND: Record<Settings['identity']['bindCertificateTo'], string> = {
  none: 'Not bound',
  clientId: 'Certificate CN or SAN equals the MQTT client id',
  username: 'Certificate CN or SAN equals the MQTT username',
  both: 'Certificate CN or SAN equals both client id and username',
};
const LOOKUP: Record<Settings['identity']['credentialLookup'], string> = {
  username: 'By MQTT username',
  certificateCn: 'By the certificate’s Common Name',
  certificateSubject: 'By the certificate’s subject DN',
};

/** What devices experience with these settings, in one sentence. */
export function connectionMode(s: Settings): { text: string; tone: 'ok' | 'warn' | 'danger' } {
  const mtls = s.mutualTls.available && s.mutualTls.enabled;
  if (mtls && s.tls.enabled)
    return { tone: 'ok', text: 'Devices try mutual TLS first and fall back to username and password over TLS when their certificate is missing or not trusted. Fallbacks are recorded in the audit trail.' };
  if (mtls) return { tone: 'ok', text: 'Only devices presenting a trusted, valid client certificate (and valid credentials) can connect.' };
  if (s.tls.enabled) return { tone: 'warn', text: 'Devices connect with username and password over server-authenticated TLS; client certificates are not checked.' };
  return { tone: 'danger', text: 'Both TLS modes are off: no device can connect to this account.' };
}

export function settingsView(ctx: Ctx): View {
  const path = `/accounts/${encodeURIComponent(ctx.account.id)}/settings`;
  const mayWrite = can(ctx.session, 'write');
  const isProvider = can(ctx.session, 'provider');
  const body = h('div', { class: 'stack' }, loading('Loading settings…'));
  let isDirty = (): boolean => false;

  const load = (): Promise<void> => loadInto(body, () => ctx.api.get<Settings>(path), render);

  function render(saved: Settings): void {
    const tls = h('input', { checked: saved.tls.enabled, disabled: !mayWrite });
    const available = h('input', { checked: saved.mutualTls.available, disabled: !(isProvider && mayWrite) });
    const mtls = h('input', { checked: saved.mutualTls.enabled, disabled: !mayWrite || !saved.mutualTls.available });
    const bind = h('select', { class: 'input', disabled: !mayWrite }, Object.entries(BIND).map(([v, l]) => h('option', { value: v, selected: v === saved.identity.bindCertificateTo }, l)));
    const lookup = h('select', { class: 'input', disabled: !mayWrite }, Object.entries(LOOKUP).map(([v, l]) => h('option', { value: v, selected: v === saved.identity.credentialLookup }, l)));
    const mode = h('div', { class: 'mode', 'aria-live': 'polite' });
    const bar = saveBar('Save changes', () => render(saved));
    const bindHint = h('span', null);

    const current = (): Settings => ({
      tls: { enabled: tls.checked },
      mutualTls: { available: available.checked, enabled: mtls.checked },
      identity: { bindCertificateTo: bind.value as Settings['identity']['bindCertificateTo'], credentialLookup: lookup.value as Settings['identity']['credentialLookup'] },
    });
    /** Only the parts that changed, so an account admin never sends the provider's availability flag. */
    const patch = (): SettingsPatch => {
      const c = current();
      const p: SettingsPatch = {};
      if (c.tls.enabled !== saved.tls.enabled) p.tls = { enabled: c.tls.enabled };
      const m: NonNullable<SettingsPatch['mutualTls']> = {};
      if (c.mutualTls.available !== saved.mutualTls.available) m.available = c.mutualTls.available;
      if (c.mutualTls.enabled !== saved.mutualTls.enabled) m.enabled = c.mutualTls.enabled;
      if (Object.keys(m).length) p.mutualTls = m;
      const i: NonNullable<SettingsPatch['identity']> = {};
      if (c.identity.bindCertificateTo !== saved.identity.bindCertificateTo) i.bindCertificateTo = c.identity.bindCertificateTo;
      if (c.identity.credentialLookup !== saved.identity.credentialLookup) i.credentialLookup = c.identity.credentialLookup;
      if (Object.keys(i).length) p.identity = i;
      return p;
    };
    const mtlsHint = h('span', null);
    const refresh = (): void => {
      // Mutual TLS cannot be on where it is not available.
      mtls.disabled = !mayWrite || !available.checked;
      if (!available.checked) mtls.checked = false;
      mtlsHint.textContent = available.checked
        ? 'Devices present a client certificate that chains to a valid trust anchor of this account or an account above it.'
        : isProvider
          ? 'Switch “Mutual TLS available” on first.'
          : 'Needs the provider to make mutual TLS available first.';
      bindHint.textContent = bind.value === 'none' && available.checked && mtls.checked
        ? 'Not bound: any device with a trusted certificate and valid credentials gets in, whatever the certificate names. To enforce one device, one secret, bind it to the client id or username.'
        : 'Compared with the Common Name or a Subject Alternative Name of a verified chain only.';
      const m = connectionMode(current());
      replace(mode, h('div', { class: `alert alert-${m.tone === 'ok' ? 'ok' : m.tone === 'warn' ? 'info' : 'error'}` }, h('strong', null, 'What devices get: '), m.text));
      bar.mark(Object.keys(patch()).length > 0);
    };
    isDirty = () => Object.keys(patch()).length > 0;
    for (const c of [tls, available, mtls, bind, lookup]) c.addEventListener('change', refresh);

    const providerNote = isProvider
      ? 'Provider-controlled. You are signed in as the provider: granting it lets this account’s admins switch mutual TLS on.'
      : 'Provider-controlled. Only your provider can make mutual TLS available to this account; ask them if you need it.';

    const form = h(
      'form',
      { class: 'stack', novalidate: true },
      h(
        'section',
        { class: 'card card-pad', 'aria-labelledby': 'set-conn' },
        h('h2', { id: 'set-conn', class: 'card-title' }, 'Connection security'),
        h('p', { class: 'muted' }, 'How devices in ', h('strong', null, ctx.account.name), ' authenticate to the MQTT broker on port 8883.'),
        toggle('TLS with username and password', tls, 'Server-authenticated TLS; the device proves itself with its MQTT credentials.'),
        toggle('Mutual TLS available', available, providerNote, h('span', { class: 'tag' }, 'Provider')),
        toggle('Mutual TLS', mtls, mtlsHint),
        mode,
      ),
      h(
        'section',
        { class: 'card card-pad', 'aria-labelledby': 'set-id' },
        h('h2', { id: 'set-id', class: 'card-title' }, 'Identity binding'),
        h('p', { class: 'muted' }, 'One device, one secret: stop a device from connecting with another device’s certificate.'),
        h(
          'div',
          { class: 'grid-2' },
          field('Bind the certificate to', bind, bindHint),
          field('Look up credentials', lookup, 'Which value names the device’s credential entry.'),
        ),
      ),
      mayWrite ? null : h('p', { class: 'hint' }, noPermission(ctx.session)),
      bar.msg,
      bar.actions,
    );
    bar.onSubmit(form, () => ctx.api.put<Settings>(path, patch()), 'Settings saved. Brokers apply them to new connections at once.', render, refresh);
    replace(body, form);
    refresh();
  }

  void load();
  return {
    el: h('div', { class: 'page' }, pageHeader('Settings', ['Connection rules for ', h('strong', null, ctx.account.name), '.']), body),
    hasUnsavedChanges: () => isDirty(),
  };
}
