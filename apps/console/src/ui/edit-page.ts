// A page that edits one document of the API (Settings, Topic permissions): it loads the document,
// keeps a sticky Save / Discard bar that says when there are unsaved changes, and saves it whole.
import { type ApiError, errorMessage } from '../api.js';
import { h, replace } from '../dom.js';
import { busy, errorBox } from './parts.js';
import { toast } from './toast.js';

/** Load a document and render it into `body`, or show the API's error there. */
export async function loadInto<T>(body: HTMLElement, get: () => Promise<T>, render: (doc: T) => void): Promise<void> {
  try {
    render(await get());
  } catch (e) {
    replace(body, errorBox(errorMessage(e), (e as ApiError).code));
  }
}

export interface SaveBar {
  /** Where the API's refusal is shown. */
  msg: HTMLElement;
  save: HTMLButtonElement;
  /** The bar itself, sticky at the bottom of the viewport: Save stays in reach however long the page is. */
  actions: HTMLElement;
  /** Save enabled when dirty (and `canSave`), Discard when dirty, "Unsaved changes" shown. */
  mark(dirty: boolean, canSave?: boolean): void;
  /** On submit: `put` the document, say `saved`, render the answer; a refusal goes to `msg`. */
  onSubmit<T>(form: HTMLFormElement, put: () => Promise<T>, saved: string, rendered: (next: T) => void, after: () => void): void;
}

export function saveBar(saveLabel: string, discard: () => void): SaveBar {
  const msg = h('div', { class: 'form-msg' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', disabled: true }, saveLabel);
  const reset = h('button', { type: 'button', class: 'btn', disabled: true, onclick: discard }, 'Discard');
  const unsaved = h('span', { class: 'unsaved', 'aria-live': 'polite' });
  const actions = h('div', { class: 'form-actions form-actions-sticky' }, unsaved, reset, save);
  return {
    msg,
    save,
    actions,
    mark(dirty, canSave = true) {
      save.disabled = !dirty || !canSave;
      reset.disabled = !dirty;
      actions.classList.toggle('is-dirty', dirty);
      unsaved.textContent = dirty ? 'Unsaved changes' : '';
    },
    onSubmit(form, put, saved, rendered, after) {
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        replace(msg);
        if (save.disabled) return;
        void busy(save, async () => {
          try {
            const next = await put();
            toast(saved);
            rendered(next);
          } catch (e) {
            replace(msg, errorBox(errorMessage(e), (e as ApiError).code));
          }
        }).then(after);
      });
    },
  };
}
