// What the Add dialog shows for each certificate of a chain file before it is sent: subject, issuer and
// kind, read from the DER (RFC 5280 §4.1) in the browser. A preview only: the API parses and validates
// every entry again (libs/pki) and its answer is what gets registered.
import type { CertKind } from '@twoway/contracts';

export interface CertSummary {
  subject: string;
  issuer: string;
  kind: CertKind;
  notAfter: Date | undefined;
}

interface Tlv {
  tag: number;
  /** Offset of the content. */
  start: number;
  end: number;
}

function read(der: Uint8Array, at: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  if (start + len > der.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

function children(der: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = t.start; at < t.end; ) {
    const c = read(der, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

function oidOf(der: Uint8Array, t: Tlv): string {
  const b = der.subarray(t.start, t.end);
  const first = b[0] ?? 0;
  const parts = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + ((b[i] ?? 0) & 0x7f);
    if (!((b[i] ?? 0) & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The short names @peculiar/x509 (and so the API) prints for the usual attributes. */
const ATTRS: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber', '2.5.4.9': 'street', '1.2.840.113549.1.9.1': 'E', '0.9.2342.19200300.100.1.25': 'DC',
};

function stringOf(der: Uint8Array, t: Tlv): string {
  const b = der.subarray(t.start, t.end);
  if (t.tag === 0x1e) {
    // BMPString: UTF-16BE
    let s = '';
    for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
    return s;
  }
  return new TextDecoder().decode(b);
}

/** `CN=…, O=…` in certificate order, as the API shows names. */
function nameOf(der: Uint8Array, t: Tlv): string {
  const parts: string[] = [];
  for (const rdn of children(der, t)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      if (!type || !value) continue;
      const oid = oidOf(der, type);
      parts.push(`${ATTRS[oid] ?? oid}=${stringOf(der, value)}`);
    }
  }
  return parts.join(', ');
}

function timeOf(der: Uint8Array, t: Tlv): Date | undefined {
  const s = new TextDecoder().decode(der.subarray(t.start, t.end));
  // UTCTime YYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.1: YY < 50 is 20YY), GeneralizedTime YYYYMMDDHHMMSSZ.
  const m = t.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  if (!m) return undefined;
  const y = t.tag === 0x17 ? (Number(m[1]) < 50 ? 2000 : 1900) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** basicConstraints (2.5.29.19) cA TRUE among the extensions ([3] EXPLICIT). */
function isCa(der: Uint8Array, extsWrapper: Tlv | undefined): boolean {
  if (!extsWrapper) return false;
  const [exts] = children(der, extsWrapper);
  if (!exts) return false;
  for (const ext of children(der, exts)) {
    const [id, ...rest] = children(der, ext);
    if (!id || oidOf(der, id) !== '2.5.29.19') continue;
    const value = rest[rest.length - 1];
    if (!value) return false;
    const [bc] = children(der, value);
    const [ca] = bc ? children(der, bc) : [];
    return !!ca && ca.tag === 0x01 && der[ca.start] !== 0;
  }
  return false;
}

/** Subject, issuer and kind of one DER certificate; throws "not a certificate (…)" on a structure it cannot read. */
export function summarize(der: Uint8Array): CertSummary {
  try {
    return summarizeTbs(der);
  } catch (e) {
    throw new Error(`not a certificate (${(e as Error).message})`);
  }
}

function summarizeTbs(der: Uint8Array): CertSummary {
  const cert = read(der, 0);
  const [tbs] = children(der, cert);
  if (!tbs) throw new Error('no TBSCertificate');
  const fields = children(der, tbs);
  // version [0] is optional (v1 certificates leave it out)
  const f = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  const [, , issuerT, validityT, subjectT] = f;
  if (!issuerT || !validityT || !subjectT) throw new Error('too few fields');
  const extsWrapper = f.slice(6).find((x) => x.tag === 0xa3);
  const subject = nameOf(der, subjectT);
  const issuer = nameOf(der, issuerT);
  const [, notAfterT] = children(der, validityT);
  const ca = isCa(der, extsWrapper);
  // As libs/pki decides it: a CA whose issuer name is its subject name is a root.
  return { subject, issuer, kind: ca ? (subject === issuer ? 'root' : 'intermediate') : 'leaf', notAfter: notAfterT ? timeOf(der, notAfterT) : undefined };
}

export const derOfPem = (pem: string): Uint8Array => {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};
