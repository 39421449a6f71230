// Audit: the account's events, filterable, exportable (CSV, NDJSON), with a live tail of new events
// from the SSE stream that can be paused without losing what arrives meanwhile.
import { auditWho, reasonExplanation, reasonFix, type AuditEvent, type AuditType, type Certificate } from '@twoway/contracts';
import { type ApiError, errorMessage } from '../api.js';
import { debounce, formatTime, h, icon, replace, shortFingerprint, uid } from '../dom.js';
import type { Ctx } from '../session.js';
import { follow, type StreamState } from '../sse.js';
import { openDialog } from '../ui/dialog.js';
import { badge, emptyState, errorBox, loading, pageHeader, table, type Tone } from '../ui/parts.js';
import { toast } from '../ui/toast.js';
import { testConnectionHref } from './test-connection.js';
import type { View } from './view.js';

/** One label per audit type; a Record so a type added to the contract without a label fails to compile. */
export const TYPE_LABELS: Record<AuditType, string> = {
  'connect.accepted': 'Connect accepted',
  'connect.accepted_fallback': 'Connect accepted (fallback)',
  'connect.rejected': 'Connect rejected',
  'session.ended': 'Session ended',
  'cert.added': 'Certificate added',
  'cert.status_changed': 'Certificate status changed',
  'cert.deleted': 'Certificate deleted',
  'cert.renamed': 'Certificate renamed',
  'cert.crl_updated': 'CRL stored',
  'cert.crl_removed': 'CRL removed',
  'cert.crl_fetch_failed': 'CRL fetch failed',
  'cert.crl_distribution_point_changed': 'CRL distribution point changed',
  'cert.serial_revoked': 'Serial revoked',
  'cert.serial_restored': 'Serial restored',
  'settings.changed': 'Settings changed',
  'credential.added': 'Credential added',
  'credential.changed': 'Credential changed',
  'credential.removed': 'Credential removed',
  'account.created': 'Account created',
  'token.created': 'Token created',
  'token.revoked': 'Token revoked',
  'audit.events_dropped': 'Audit events dropped',
  'session.messages_dropped': 'Queued messages dropped',
  'cert.expiring': 'Certificate expiring',
  'cert.expired': 'Certificate expired',
  'device.cert_expiring': 'Device certificate expiring',
  'dry_run.decided': 'Connection tested (dry run)',
  'session.topic_denied': 'Topic denied',
};
const OUTCOME: Record<string, { label: string; tone: Tone }> = {
  accepted: { label: 'Accepted', tone: 'ok' },
  rejected: { label: 'Rejected', tone: 'danger' },
  ended: { label: 'Ended', tone: 'warn' },
};


const MAX_LIVE_ROWS = 500;

/** `daysLeft` of an expiry event (whole days before notAfter). */
const endsIn = (days: unknown): string => (typeof days !== 'number' ? 'ends soon' : days <= 0 ? 'ends today' : `ends in ${days} ${days === 1 ? 'day' : 'days'}`);

/** A one-line summary: which certificate and from/to which status, e.g. “Plant CA”: VALID → SUSPENDED. */
export function change(e: AuditEvent): string | undefined {
  if (e.type === 'device.cert_expiring') {
    const certs = (e.detail?.certificates as { role?: string; daysLeft?: number }[] | undefined) ?? [];
    return certs.map((c) => `${c.role ?? 'certificate'} ${endsIn(c.daysLeft)}`).join(', ');
  }
  const status = (v: unknown): string | undefined => (typeof v === 'string' ? v : (v as { status?: string } | undefined)?.status);
  const name = (e.detail?.name as string | undefined) ?? (e.after as { name?: string } | undefined)?.name ?? (e.before as { name?: string } | undefined)?.name;
  if (e.type === 'cert.expiring' || e.type === 'cert.expired') return `${name ? `“${name}” ` : ''}${e.type === 'cert.expired' ? 'has expired' : endsIn(e.detail?.daysLeft)}`;
  if (e.type === 'dry_run.decided') return `would ${e.detail?.decision === 'admit' ? 'admit' : 'refuse'}: ${String(e.detail?.reason ?? '?')}`;
  if (e.type === 'cert.renamed') return `“${(e.before as { name?: string } | undefined)?.name ?? '?'}” → “${name ?? '?'}”`;
  const b = status(e.before);
  const a = status(e.after);
  if (b && a) return `${name ? `“${name}”: ` : ''}${b} → ${a}`;
  if (e.type === 'settings.changed') return 'see details';
  if (e.type === 'session.topic_denied') return `${String(e.detail?.action ?? '')} ${String(e.detail?.topic ?? '')}`.trim();
  if (e.type.startsWith('cert.') && name) return `“${name}”`;
  return (e.after as { username?: string } | undefined)?.username ?? (e.before as { username?: string } | undefined)?.username;
}

/** Which registered certificate a refusal names (the blocking one), as “name” (kind) where the token can see it. */
async function certificateNamed(ctx: Ctx, e: AuditEvent, fingerprint: string): Promise<Certificate | undefined> {
  for (const acc of e.accountPath ?? (e.account ? [e.account] : [])) {
    try {
      const page = await ctx.api.get<{ items: Certificate[] }>(`/accounts/${encodeURIComponent(acc)}/certificates`, { fingerprint, limit: 1 });
      if (page.items[0]) return page.items[0];
    } catch {
      // an ancestor outside the token's reach: 404, try the next one
    }
  }
  return undefined;
}

export function auditView(ctx: Ctx): View {
  const base = `/accounts/${encodeURIComponent(ctx.account.id)}/audit`;
  const f = { type: '', outcome: '', from: '', to: '', subtree: true, deviceKind: 'clientId', device: '' };
  let items: AuditEvent[] = [];
  let nextCursor: string | null = null;
  const seen = new Set<string>();
  let paused = false;
  let held: AuditEvent[] = [];

  const type = h('select', { class: 'input', id: uid('type') }, h('option', { value: '' }, 'All events'), (Object.keys(TYPE_LABELS) as AuditType[]).map((t) => h('option', { value: t }, TYPE_LABELS[t])));
  const outcome = h('select', { class: 'input', id: uid('outcome') }, h('option', { value: '' }, 'Any outcome'), Object.entries(OUTCOME).map(([v, o]) => h('option', { value: v }, o.label)));
  const from = h('input', { type: 'datetime-local', class: 'input', id: uid('from') });
  const to = h('input', { type: 'datetime-local', class: 'input', id: uid('to') });
  const subtree = h('input', { type: 'checkbox', id: uid('subtree'), checked: true });
  const deviceKind = h(
    'select',
    { class: 'input', id: uid('device-kind'), 'aria-label': 'Search devices by' },
    h('option', { value: 'clientId' }, 'Client id'),
    h('option', { value: 'username' }, 'Username'),
    h('option', { value: 'certificate' }, 'Certificate'),
  );
  const device = h('input', { type: 'search', class: 'input', id: uid('device'), placeholder: 'e.g. sensor-17', autocomplete: 'off', spellcheck: 'false' });
  const toIso = (v: string): string => (v ? new Date(v).toISOString() : '');
  const onFilter = (): void => {
    Object.assign(f, { type: type.value, outcome: outcome.value, from: toIso(from.value), to: toIso(to.value), subtree: subtree.checked, deviceKind: deviceKind.value, device: device.value.trim() });
    void load();
  };
  for (const c of [type, outcome, from, to, subtree, deviceKind]) c.addEventListener('change', onFilter);
  device.addEventListener('input', debounce(onFilter, 300));
  const query = (): Record<string, string> => ({
    type: f.type,
    outcome: f.outcome,
    from: f.from,
    to: f.to,
    subtree: f.subtree ? 'true' : '',
    ...(f.device ? { [f.deviceKind]: f.device } : {}),
  });

  const exportBtn = (format: 'csv' | 'ndjson', label: string): HTMLButtonElement =>
    h(
      'button',
      {
        type: 'button',
        class: 'btn',
        onclick: () =>
          void ctx.api
            .download(base, { ...query(), format }, `twoway-audit-${ctx.account.id}-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.${format}`)
            .then(() => toast(`Exported ${format.toUpperCase()}.`))
            .catch((e: unknown) => toast(errorMessage(e), 'error')),
      },
      icon('download'),
      label,
    );

  // ---- live tail ----
  const liveDot = h('span', { class: 'live-dot', 'aria-hidden': 'true' });
  const liveText = h('span', { class: 'live-text' }, 'Connecting…');
  const heldText = h('span', { class: 'live-held', 'aria-live': 'polite' });
  const pauseBtn = h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': 'false' }, icon('pause'), 'Pause');
  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.setAttribute('aria-pressed', String(paused));
    replace(pauseBtn, icon(paused ? 'play' : 'pause'), paused ? 'Resume' : 'Pause');
    if (!paused) {
      const flush = held;
      held = [];
      for (const e of flush) addLive(e);
    }
    renderHeld();
  });
  const renderHeld = (): void => {
    heldText.textContent = paused ? (held.length ? `Paused · ${held.length} new ${held.length === 1 ? 'event' : 'events'} waiting` : 'Paused') : '';
  };
  const setState = (s: StreamState, err?: string): void => {
    liveDot.className = `live-dot live-${s}`;
    liveText.textContent = s === 'open' ? 'Live' : s === 'connecting' ? 'Connecting…' : (err ?? 'Disconnected');
  };
  const deviceMatches = (e: AuditEvent): boolean => {
    if (!f.device) return true;
    if (f.deviceKind === 'clientId') return e.device?.clientId === f.device;
    if (f.deviceKind === 'username') return e.device?.username === f.device;
    const fp = f.device.replace(/:/g, '').toLowerCase();
    return e.certificateId === f.device || e.device?.certificateFingerprint === fp;
  };
  const matches = (e: AuditEvent): boolean =>
    (!f.type || e.type === f.type) && (!f.outcome || e.outcome === f.outcome) && (!f.from || e.time >= f.from) && (!f.to || e.time <= f.to) && (f.subtree || e.account === ctx.account.id) && deviceMatches(e);

  const results = h('section', { class: 'card audit-results', 'aria-label': 'Audit events' }, loading('Loading events…'));
  let tbody: HTMLTableSectionElement | null = null;

  function row(e: AuditEvent, fresh = false): HTMLTableRowElement {
    const o = e.outcome ? OUTCOME[e.outcome] : undefined;
    return h(
      'tr',
      { class: fresh ? 'row-new' : null, 'data-audit-id': e.id, 'data-audit-type': e.type },
      h('td', { class: 'cell-time' }, h('time', { datetime: e.time }, formatTime(e.time))),
      h('td', null, h('div', null, TYPE_LABELS[e.type as AuditType] ?? e.type), change(e) ? h('div', { class: 'cell-sub' }, change(e)) : null),
      h('td', null, o ? badge(o.label, o.tone) : h('span', { class: 'muted' }, '—')),
      h('td', null, e.reason ? [h('code', { class: 'reason' }, e.reason), reasonExplanation(e.reason, e.detail) ? h('div', { class: 'cell-sub reason-why' }, reasonExplanation(e.reason, e.detail)) : null] : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'col-opt' }, auditWho(e)),
      h(
        'td',
        { class: 'cell-actions' },
        h('button', { type: 'button', class: 'btn btn-sm', 'aria-label': `Details of ${TYPE_LABELS[e.type as AuditType] ?? e.type} at ${formatTime(e.time)}`, onclick: () => details(e) }, 'Details'),
        refused(e) ? h('a', { class: 'btn btn-sm', href: testHref(e), 'aria-label': `Why was ${auditWho(e)} refused? Test its connection now` }, 'Why?') : null,
      ),
    );
  }

  /** A refused connect: the dry run ("Why?") asks the broker again, now, with the device's client id and username. */
  const refused = (e: AuditEvent): boolean => e.type === 'connect.rejected';
  const testHref = (e: AuditEvent): string => testConnectionHref(e.account ?? ctx.account.id, { clientId: e.device?.clientId, username: e.device?.username });

  function addLive(e: AuditEvent): void {
    if (seen.has(e.id) || !matches(e)) return;
    seen.add(e.id);
    items.unshift(e);
    if (!tbody) return render();
    tbody.prepend(row(e, true));
    while (tbody.rows.length > MAX_LIVE_ROWS) tbody.deleteRow(-1);
  }

  function render(): void {
    tbody = null;
    if (!items.length) {
      replace(results, emptyState('No events', f.type || f.outcome || f.from || f.to || f.device ? 'Nothing matches these filters.' : 'Connections, certificate and settings changes appear here as they happen.'));
      return;
    }
    const wrap = table(['Time', 'Event', 'Outcome', 'Reason', { label: 'Device or actor', cls: 'col-opt' }, { label: 'Actions', cls: 'sr-only-th' }], items.map((e) => row(e)), `Audit events of ${ctx.account.name}`);
    tbody = wrap.querySelector('tbody');
    replace(results, wrap, nextCursor ? h('div', { class: 'load-more' }, h('button', { type: 'button', class: 'btn', onclick: () => void load(true) }, 'Load older events')) : null);
  }

  let generation = 0;
  async function load(more = false): Promise<void> {
    const gen = ++generation;
    if (!more) replace(results, loading('Loading events…'));
    try {
      const page = await ctx.api.get<{ items: AuditEvent[]; nextCursor: string | null }>(base, { ...query(), limit: 100, cursor: more ? nextCursor : undefined });
      if (gen !== generation) return;
      if (!more) seen.clear();
      const fresh = page.items.filter((e) => !seen.has(e.id));
      fresh.forEach((e) => seen.add(e.id));
      items = more ? [...items, ...fresh] : fresh;
      nextCursor = page.nextCursor;
      render();
    } catch (e) {
      if (gen === generation) replace(results, errorBox(errorMessage(e), (e as ApiError).code));
    }
  }

  function details(e: AuditEvent): void {
    const blocked = e.detail?.blockedFingerprint as string | undefined;
    const blockedBy = blocked ? h('dd', { class: 'mono break' }, shortFingerprint(blocked)) : null;
    const rows: [string, string | undefined][] = [
      ['Time', `${formatTime(e.time)} (${e.time})`],
      ['Type', e.type],
      ['Outcome', e.outcome],
      ['Reason', e.reason ? `${e.reason}${reasonExplanation(e.reason, e.detail) ? ` — ${reasonExplanation(e.reason, e.detail)}` : ''}` : undefined],
      ['Fix', e.reason && refused(e) ? reasonFix(e.reason) : undefined],
      ['Change', change(e)],
      ['Account', e.account ?? (e.type.startsWith('connect.') ? 'none (the attempt named no account)' : undefined)],
      ['Actor', `${e.actor.kind} ${e.actor.name ?? e.actor.id}`],
      ['Client id', e.device?.clientId],
      ['Username', e.device?.username],
      ['Certificate subject', e.device?.certificateSubject],
      ['Certificate fingerprint', e.device?.certificateFingerprint],
      ['Certificate id', e.certificateId],
      ['Source address', e.sourceAddress],
      ['Written by', e.source],
      ['Trace id', e.traceId],
      ['Event id', e.id],
    ];
    const extra = [
      ['Before', e.before],
      ['After', e.after],
      ['Detail', e.detail],
    ].filter(([, v]) => v !== undefined) as [string, unknown][];
    const d = openDialog({
      title: TYPE_LABELS[e.type as AuditType] ?? e.type,
      wide: true,
      body: [
        h('dl', { class: 'details' }, rows.filter(([, v]) => v).map(([k, v]) => [h('dt', null, k), h('dd', { class: 'mono break' }, v as string)]), blockedBy ? [h('dt', null, 'Blocked by'), blockedBy] : null),
        extra.map(([k, v]) => h('div', { class: 'field' }, h('div', { class: 'label' }, k), h('pre', { class: 'json' }, JSON.stringify(v, null, 2)))),
      ],
      footer: [
        refused(e) ? h('a', { class: 'btn', href: testHref(e), onclick: () => d.close() }, 'Test this connection now') : null,
        h('button', { type: 'button', class: 'btn', onclick: () => d.close() }, 'Close'),
      ],
    });
    // Name the certificate that blocked the device, not only its fingerprint.
    if (blocked && blockedBy) {
      void certificateNamed(ctx, e, blocked).then((c) => {
        if (c) replace(blockedBy, `“${c.name}” (${c.kind}, ${c.status}) — ${shortFingerprint(blocked)}`);
      });
    }
  }

  void load();
  const stream = follow(ctx.api, `${base}/stream?subtree=true`, {
    onState: setState,
    onMessage: (data) => {
      let e: AuditEvent;
      try {
        e = JSON.parse(data) as AuditEvent;
      } catch {
        return;
      }
      if (paused) {
        if (!seen.has(e.id) && matches(e) && !held.some((x) => x.id === e.id)) held.push(e);
        renderHeld();
      } else addLive(e);
    },
  });

  const lbl = (c: HTMLElement, text: string): HTMLElement => h('div', { class: 'field field-inline' }, h('label', { for: c.id }, text), c);
  return {
    el: h(
      'div',
      { class: 'page' },
      pageHeader('Audit', ['Every connection attempt and every change in ', h('strong', null, ctx.account.name), ', with who, when and why.'], [exportBtn('csv', 'Export CSV'), exportBtn('ndjson', 'Export NDJSON')]),
      h(
        'div',
        { class: 'toolbar toolbar-wrap', role: 'search', 'aria-label': 'Filter audit events' },
        h('div', { class: 'field field-inline field-device' }, h('label', { for: device.id }, 'Device'), h('div', { class: 'input-group' }, deviceKind, device)),
        lbl(type, 'Event'),
        lbl(outcome, 'Outcome'),
        lbl(from, 'From'),
        lbl(to, 'To'),
        h('div', { class: 'check' }, subtree, h('label', { for: subtree.id }, 'Include sub-accounts')),
      ),
      h('div', { class: 'live-bar', role: 'region', 'aria-label': 'Live tail' }, liveDot, liveText, heldText, h('span', { class: 'spacer' }), pauseBtn),
      results,
    ),
    dispose: () => stream.stop(),
  };
}
