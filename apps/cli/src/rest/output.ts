// Output for the REST commands: JSON with --json, else an aligned table or key/value lines.

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join('\n');
}

export function keyValues(rows: [string, string | number | boolean | null | undefined][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(w + 1)} ${v === null || v === undefined || v === '' ? '-' : String(v)}`).join('\n');
}

export const asJson = (v: unknown): string => JSON.stringify(v, null, 2);

/** 2026-11-23T10:58:03.000Z → 2026-11-23 10:58:03Z (sortable, unambiguous). */
export const time = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');
