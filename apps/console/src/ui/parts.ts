// Small building blocks shared by the views: labelled fields, badges, empty states, inline errors.
import { h, icon, uid, type Child } from '../dom.js';
import { toast } from './toast.js';

/** A labelled control: the label's `for` points at the control; a hint is tied with aria-describedby. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: Child): HTMLElement {
  control.id ||= uid('f');
  let hintEl: HTMLElement | null = null;
  if (hint) {
    hintEl = h('div', { class: 'hint', id: uid('hint') }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A switch: a checkbox with role=switch, its label beside it. */
export function toggle(label: string, input: HTMLInputElement, hint?: Child, extra?: Child): HTMLElement {
  input.type = 'checkbox';
  input.setAttribute('role', 'switch');
  input.id ||= uid('sw');
  input.classList.add('switch-input');
  let hintEl: HTMLElement | null = null;
  if (hint) {
    hintEl = h('div', { class: 'hint', id: uid('hint') }, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  return h(
    'div',
    { class: 'switch-row' },
    h('div', { class: 'switch-text' }, h('label', { for: input.id, class: 'switch-label' }, label, extra), hintEl),
    h('span', { class: 'switch' }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })),
  );
}

export type Tone = 'ok' | 'warn' | 'danger' | 'neutral' | 'info';
export const badge = (text: string, tone: Tone): HTMLElement => h('span', { class: `badge badge-${tone}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), text);

export function emptyState(title: string, text: string, action?: Child): HTMLElement {
  return h('div', { class: 'empty' }, icon('empty', 'empty-icon'), h('h3', null, title), h('p', null, text), action);
}

/** An inline error box with the API's message; role=alert so it is announced when it appears. */
export function errorBox(message: string, code?: string): HTMLElement {
  const el = h('div', { class: 'alert alert-error', role: 'alert' }, h('strong', null, message), code ? h('span', { class: 'code' }, code) : null);
  // In a long dialog the message may sit below the fold: bring it into view once it is attached.
  requestAnimationFrame(() => el.scrollIntoView?.({ block: 'nearest' }));
  return el;
}

export const loading = (what = 'Loading…'): HTMLElement => h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), what);

export function pageHeader(title: string, subtitle: Child, actions?: Child): HTMLElement {
  return h('header', { class: 'page-head' }, h('div', null, h('h1', { tabindex: '-1', class: 'page-title' }, title), h('p', { class: 'subtitle' }, subtitle)), h('div', { class: 'page-actions' }, actions));
}

export function table(headers: (string | { label: string; cls?: string })[], rows: HTMLTableRowElement[], caption: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, headers.map((x) => (typeof x === 'string' ? h('th', { scope: 'col' }, x) : h('th', { scope: 'col', class: x.cls }, x.label))))),
      h('tbody', null, rows),
    ),
  );
}

/** Disable a button while an action runs; re-enable whatever happens. */
export async function busy<T>(btn: HTMLButtonElement, fn: () => Promise<T>): Promise<T> {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
  }
}

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
