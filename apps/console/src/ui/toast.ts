// Transient notices, announced politely to screen readers through one aria-live region.
import { h } from '../dom.js';

let region: HTMLElement | undefined;

export function toastRegion(): HTMLElement {
  region ??= h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'false' });
  return region;
}

export function toast(message: string, kind: 'success' | 'error' | 'info' = 'success'): void {
  const el = h('div', { class: `toast toast-${kind}` }, message);
  const r = toastRegion();
  r.appendChild(el);
  // Keep the stack short: the oldest notices make room for new ones.
  while (r.children.length > 3) r.firstElementChild?.remove();
  setTimeout(() => el.classList.add('toast-leave'), kind === 'error' ? 7000 : 4000);
  setTimeout(() => el.remove(), kind === 'error' ? 7400 : 4400);
}
