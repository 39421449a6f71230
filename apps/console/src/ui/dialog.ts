// Modal dialogs on the native <dialog> element: focus is trapped and Escape closes, as the platform
// gives it; we only restore focus to whatever opened the dialog.
import { h, icon, uid, type Child } from '../dom.js';

export interface DialogHandle {
  el: HTMLDialogElement;
  body: HTMLElement;
  close(): void;
}

export function openDialog(opts: { title: string; body: Child; footer?: Child; wide?: boolean; onClose?: () => void }): DialogHandle {
  const opener = document.activeElement as HTMLElement | null;
  const titleId = uid('dlg-title');
  const body = h('div', { class: 'dialog-body' }, opts.body);
  const el = h(
    'dialog',
    { class: opts.wide ? 'dialog dialog-wide' : 'dialog', 'aria-labelledby': titleId },
    h(
      'header',
      { class: 'dialog-head' },
      h('h2', { id: titleId }, opts.title),
      h('button', { type: 'button', class: 'btn-icon', 'aria-label': 'Close', onclick: () => close() }, icon('close')),
    ),
    body,
    opts.footer ? h('footer', { class: 'dialog-foot' }, opts.footer) : null,
  );
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    if (el.open) el.close();
    el.remove();
    opts.onClose?.();
    opener?.focus?.();
  };
  el.addEventListener('close', close);
  el.addEventListener('cancel', () => close());
  document.body.appendChild(el);
  el.showModal();
  return { el, body, close };
}

/** Ask before something that affects devices; resolves true only on an explicit confirm. */
export function confirmDialog(opts: { title: string; message: Child; confirmLabel: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const answer = (v: boolean): void => {
      answered = true;
      resolve(v);
      d.close();
    };
    const confirmBtn = h('button', { type: 'button', class: opts.danger ? 'btn btn-danger' : 'btn btn-primary', onclick: () => answer(true) }, opts.confirmLabel);
    const d = openDialog({
      title: opts.title,
      body: h('div', { class: 'confirm-message' }, opts.message),
      footer: [h('button', { type: 'button', class: 'btn', onclick: () => answer(false) }, 'Cancel'), confirmBtn],
      onClose: () => {
        if (!answered) resolve(false);
      },
    });
    // Cancel is the safe default for destructive actions; otherwise focus the action.
    const first = d.el.querySelector<HTMLButtonElement>('.dialog-foot .btn');
    (opts.danger ? first : confirmBtn)?.focus();
  });
}
