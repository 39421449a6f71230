// Opaque list cursors: the (createdAt, id) of the last item of a page, so the next page starts
// strictly after it whatever was added or deleted in between (keyset pagination).

export interface CursorPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify([p.createdAt.toISOString(), p.id]), 'utf8').toString('base64url');
}

/** `undefined` for a cursor this service did not make (the caller answers 400). */
export function decodeCursor(s: string): CursorPosition | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') return undefined;
    const createdAt = new Date(v[0]);
    if (Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(v[1])) return undefined;
    return { createdAt, id: v[1] };
  } catch {
    return undefined;
  }
}
