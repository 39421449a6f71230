// A tiny element builder. Text always goes in as text nodes, never as HTML, so certificate subjects,
// account names and audit fields cannot inject markup.
export type Child = Node | string | number | null | undefined | false | Child[];
export type Props = Record<string, unknown>;

/** Properties set as DOM properties (their live value), not as attributes. */
const LIVE = new Set(['value', 'checked', 'selected', 'indeterminate']);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (LIVE.has(k)) (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** An inline SVG icon from a path list (24×24 stroke icons), hidden from assistive technology. */
export function icon(name: keyof typeof ICONS, cls = 'icon'): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of ICONS[name]) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

const ICONS = {
  cert: ['M4 4h16v12H4z', 'M8 8h8', 'M8 11h5', 'M15 16v5l2-1.5 2 1.5v-5'],
  settings: ['M4 7h10', 'M18 7h2', 'M4 17h4', 'M12 17h8', 'M14 5v4', 'M8 15v4'],
  accounts: ['M6 4h5v5H6z', 'M13 15h5v5h-5z', 'M3 15h5v5H3z', 'M8.5 9v3h7v3', 'M8.5 12H5.5v3'],
  key: ['M14 10a4 4 0 1 0-1.2 2.8L20 20', 'M17 17l2-2', 'M15 15l2-2'],
  token: ['M4 8h16v8H4z', 'M8 12h.01', 'M12 12h.01', 'M16 12h.01'],
  audit: ['M5 4h14v16H5z', 'M9 8h6', 'M9 12h6', 'M9 16h3'],
  plus: ['M12 5v14', 'M5 12h14'],
  search: ['M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z', 'M20 20l-4-4'],
  signout: ['M15 4h4v16h-4', 'M10 8l-4 4 4 4', 'M6 12h10'],
  menu: ['M4 7h16', 'M4 12h16', 'M4 17h16'],
  chevron: ['M9 6l6 6-6 6'],
  copy: ['M8 8h11v12H8z', 'M5 16V4h11'],
  pause: ['M8 5v14', 'M16 5v14'],
  play: ['M7 5l12 7-12 7z'],
  download: ['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  upload: ['M12 20V9', 'M7 14l5-5 5 5', 'M5 4h14'],
  empty: ['M4 8l8-4 8 4-8 4z', 'M4 8v8l8 4 8-4V8', 'M12 12v8'],
  plug: ['M9 3v5', 'M15 3v5', 'M6 8h12v3a6 6 0 0 1-12 0z', 'M12 17v4'],
  shield: ['M12 3l7 3v5c0 4.5-3 7.8-7 10-4-2.2-7-5.5-7-10V6z', 'M9 12l2 2 4-4'],
} as const;

/** Hand content to the browser as a download named `filename`. */
export function saveFile(filename: string, content: Blob): void {
  const url = URL.createObjectURL(content);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

let seq = 0;
/** A document-unique id for `<label for>` / `aria-describedby` pairs. */
export const uid = (prefix: string): string => `${prefix}-${++seq}`;

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  // Seconds and the time zone: an operator lines these up with device logs and other systems.
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: '2-digit' });
}

/** "in 3 days" / "2 hours ago" for expiry columns. */
export function relative(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  const units: [number, Intl.RelativeTimeFormatUnit][] = [[86_400_000 * 365, 'year'], [86_400_000 * 30, 'month'], [86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute']];
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [size, unit] of units) if (abs >= size) return rtf.format(Math.round(ms / size), unit);
  return rtf.format(Math.round(ms / 1000), 'second');
}

/** "ab:cd:ef…" shortened fingerprint for tables; the full one sits in the title and details. */
export const shortFingerprint = (hex: string): string => (hex.match(/.{2}/g) ?? []).slice(0, 6).join(':') + '…';

/** From an ISO date-time to the value of an `<input type="date">` and back (end of that day, local time). */
export function dateInputToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(`${v}T23:59:59`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number): (...a: A) => void {
  let t: ReturnType<typeof setTimeout> | undefined;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}
