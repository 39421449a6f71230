// Opaque keyset cursors. A page is ordered newest first by (time, id); the cursor is the last row's
// key, so inserts between two page requests never shift, repeat or skip the rows already paged over.
import { CursorInvalidError } from '../errors.js';

export interface CursorKey {
  time: string;
  id: string;
}

export function encodeCursor(k: CursorKey): string {
  return Buffer.from(JSON.stringify({ v: 1, t: k.time, i: k.id }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const o = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v?: unknown; t?: unknown; i?: unknown };
    if (o.v === 1 && typeof o.t === 'string' && typeof o.i === 'string' && o.t.length <= 40 && o.i.length <= 64) return { time: o.t, id: o.i };
  } catch {
    // fall through: not ours
  }
  throw new CursorInvalidError(cursor);
}
