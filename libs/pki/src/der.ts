// A strict, minimal DER reader (X.690 §10) for the parts of a certificate the validator decides on.
// Our own reader, not a general ASN.1 library, so that we see the exact bytes that were signed and refuse
// what is not DER (indefinite lengths, non-minimal lengths, trailing bytes) instead of repairing it.

export class DerError extends Error {
  override name = 'DerError';
}

export interface Tlv {
  /** The full identifier octet (class, constructed bit, tag number < 31). */
  tag: number;
  /** Content octets. */
  value: Uint8Array;
  /** The whole TLV, header included. */
  raw: Uint8Array;
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8String: 0x0c,
  NumericString: 0x12,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * Walks the TLVs between two offsets of a buffer without allocating per element, for long lists (a CRL's
 * 100,000 entries): after `next()` returns true, `tag` is the element's identifier octet and its content
 * is `buf[start, end)`.
 */
export class DerCursor {
  tag = 0;
  start = 0;
  end = 0;
  private pos: number;
  private to: number;

  constructor(readonly buf: Uint8Array, from = 0, to = buf.length) {
    this.pos = from;
    this.to = to;
  }

  /** Walk `[from, to)` from its start again (e.g. the content of the element another cursor is on). */
  reset(from: number, to: number): this {
    this.pos = from;
    this.to = to;
    return this;
  }

  /** Is the current element of this tag? (A method, so a check does not narrow `tag` for later elements.) */
  is(tag: number): boolean {
    return this.tag === tag;
  }

  /** The current element as a Tlv (allocates: for the rare element that needs the general readers). */
  tlv(): Tlv {
    const value = this.buf.subarray(this.start, this.end);
    return { tag: this.tag, value, raw: value };
  }

  next(): boolean {
    const buf = this.buf;
    const offset = this.pos;
    if (offset >= this.to) return false;
    if (offset + 2 > this.to) throw new DerError('truncated header');
    const tag = buf[offset]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in certificates');
    let len = buf[offset + 1]!;
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0) throw new DerError('indefinite length is not DER');
      if (n > 4) throw new DerError('length too large');
      if (offset + 2 + n > this.to) throw new DerError('truncated length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
      if (len < 0x80 || buf[offset + 2] === 0) throw new DerError('non-minimal length encoding');
      hdr += n;
    }
    const end = offset + hdr + len;
    if (end > this.to) throw new DerError('truncated value');
    this.tag = tag;
    this.start = offset + hdr;
    this.end = end;
    this.pos = end;
    return true;
  }
}

/** Reads one TLV at `offset`; returns it and the offset after it. */
export function readTlv(buf: Uint8Array, offset = 0): { tlv: Tlv; next: number } {
  const c = new DerCursor(buf, offset);
  if (!c.next()) throw new DerError('truncated header');
  return { tlv: { tag: c.tag, value: buf.subarray(c.start, c.end), raw: buf.subarray(offset, c.end) }, next: c.end };
}

/** Reads exactly one TLV spanning the whole buffer. */
export function readOne(buf: Uint8Array, expectTag?: number): Tlv {
  const { tlv, next } = readTlv(buf, 0);
  if (next !== buf.length) throw new DerError('trailing bytes after the value');
  if (expectTag !== undefined && tlv.tag !== expectTag) throw new DerError(`expected tag 0x${expectTag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** The children of a constructed value. */
export function children(t: Tlv): Tlv[] {
  if (!(t.tag & 0x20)) throw new DerError('expected a constructed value');
  const out: Tlv[] = [];
  let off = 0;
  while (off < t.value.length) {
    const { tlv, next } = readTlv(t.value, off);
    out.push(tlv);
    off = next;
  }
  return out;
}

export function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

export function readOid(t: Tlv): string {
  if (t.tag !== Tag.OID || t.value.length === 0) throw new DerError('expected an OBJECT IDENTIFIER');
  const v = t.value;
  const parts: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (n === 0 && b === 0x80) throw new DerError('non-minimal OID arc');
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 256) throw new DerError('OID arc too large');
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = n < 40 ? 0 : n < 80 ? 1 : 2;
        parts.push(first, n - first * 40);
      } else parts.push(n);
      n = 0;
    } else if (i === v.length - 1) throw new DerError('truncated OID');
  }
  return parts.join('.');
}

export function readBoolean(t: Tlv): boolean {
  if (t.tag !== Tag.BOOLEAN || t.value.length !== 1) throw new DerError('expected a BOOLEAN');
  const b = t.value[0]!;
  if (b !== 0 && b !== 0xff) throw new DerError('BOOLEAN must be 0x00 or 0xFF in DER');
  return b === 0xff;
}

/** A small non-negative INTEGER (versions, path lengths). */
export function readSmallUint(t: Tlv, tag: number = Tag.INTEGER): number {
  if (t.tag !== tag || t.value.length === 0 || t.value.length > 6) throw new DerError('expected a small INTEGER');
  if (t.value[0]! & 0x80) throw new DerError('negative INTEGER');
  if (t.value.length > 1 && t.value[0] === 0 && !(t.value[1]! & 0x80)) throw new DerError('non-minimal INTEGER');
  let n = 0;
  for (const b of t.value) n = n * 256 + b;
  return n;
}

/** BIT STRING content: unused-bits count and the bytes. */
export function readBitString(t: Tlv): { unused: number; bytes: Uint8Array } {
  if (t.tag !== Tag.BIT_STRING || t.value.length === 0) throw new DerError('expected a BIT STRING');
  const unused = t.value[0]!;
  if (unused > 7 || (unused > 0 && t.value.length === 1)) throw new DerError('bad BIT STRING padding');
  return { unused, bytes: t.value.subarray(1) };
}

/** Decodes the ASN.1 string types found in names; undefined for anything else. */
export function decodeString(t: Tlv): string | undefined {
  const v = t.value;
  switch (t.tag) {
    case Tag.UTF8String:
      return new TextDecoder('utf-8', { fatal: true }).decode(v);
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.NumericString:
    case Tag.VisibleString:
      for (const b of v) if (b > 0x7f) throw new DerError('non-ASCII byte in an ASCII string type');
      return Buffer.from(v).toString('latin1');
    case Tag.TeletexString:
      // T.61 is in practice Latin-1 in the certificates that use it.
      return Buffer.from(v).toString('latin1');
    case Tag.BMPString: {
      if (v.length % 2) throw new DerError('odd BMPString length');
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      if (v.length % 4) throw new DerError('bad UniversalString length');
      let s = '';
      for (let i = 0; i < v.length; i += 4) s += String.fromCodePoint(((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0);
      return s;
    }
    default:
      return undefined;
  }
}

/**
 * UTCTime or GeneralizedTime as RFC 5280 profiles them (§4.1.2.5, §5.1.2.4): seconds present, `Z`,
 * no fractions; UTCTime years 50–99 are 19xx.
 */
export function readTime(t: Tlv): Date {
  const s = Buffer.from(t.value).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (t.tag === Tag.UTCTime && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (t.tag === Tag.GeneralizedTime && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    year = Number(m[1]);
  } else throw new DerError(`expected a UTCTime or GeneralizedTime of the form ...HHMMSSZ, got '${s.replace(/[^\x20-\x7e]/g, '?').slice(0, 32)}'`);
  const [mo, d, h, mi, se] = m.slice(2, 7).map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) throw new DerError(`'${s}' is not a valid time`);
  return back;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
