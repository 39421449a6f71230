// Certificates built field by field, for tests and tools that need what a well-behaved issuer never makes:
// MD5/SHA-1 signatures, RSA-1024 keys, unknown critical extensions, CA:FALSE issuers, broken signatures,
// names that differ only in case or spacing. Everything is DER-encoded here and signed with Node crypto.
import { constants, generateKeyPairSync, sign, createHash, randomBytes, type KeyObject } from 'node:crypto';
import { parseDer, type ParsedCert } from './certificate.js';
import { Oid } from './cert-facts.js';

// ---- a tiny DER encoder ----

function len(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  return tlvOf(tag, content);
}
/** As tlv, for more children than a spread argument list holds (100,000 CRL entries). */
function tlvOf(tag: number, content: readonly Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.of(tag), len(body.length), body]);
}
export const seq = (...c: Uint8Array[]): Uint8Array => tlv(0x30, ...c);
export const set = (...c: Uint8Array[]): Uint8Array => tlv(0x31, ...c);
export function oid(s: string): Uint8Array {
  const p = s.split('.').map(Number);
  const out: number[] = [p[0]! * 40 + p[1]!];
  for (const n of p.slice(2)) {
    const b: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) b.unshift((v & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, Uint8Array.from(out));
}
export function int(n: number | Uint8Array, raw = false): Uint8Array {
  if (raw && typeof n !== 'number') return tlv(0x02, n);
  let b: Uint8Array;
  if (typeof n === 'number') {
    const bytes: number[] = [];
    let v = n;
    do {
      bytes.unshift(v & 0xff);
      v = Math.floor(v / 256);
    } while (v > 0);
    b = Uint8Array.from(bytes);
  } else b = n;
  if (b[0]! & 0x80) b = Uint8Array.of(0, ...b);
  return tlv(0x02, b);
}
export const bool = (v: boolean): Uint8Array => tlv(0x01, Uint8Array.of(v ? 0xff : 0));
export const octet = (b: Uint8Array): Uint8Array => tlv(0x04, b);
export const bitString = (b: Uint8Array, unused = 0): Uint8Array => tlv(0x03, Uint8Array.of(unused), b);
export const NULL = Uint8Array.of(0x05, 0x00);
const utf8 = (s: string): Uint8Array => tlv(0x0c, Buffer.from(s, 'utf8'));
const printable = (s: string): Uint8Array => tlv(0x13, Buffer.from(s, 'latin1'));
const ia5 = (tag: number, s: string): Uint8Array => tlv(tag, Buffer.from(s, 'latin1'));

function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const y = d.getUTCFullYear();
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return y >= 1950 && y < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'latin1')) : tlv(0x18, Buffer.from(iso, 'latin1'));
}

// ---- names ----

const ATTR: Record<string, string> = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', E: '1.2.840.113549.1.9.1' };

/** An RDN sequence: `[['C','US'],['O','Acme'],['CN','dev']]`; a value prefixed `printable:` is a PrintableString. */
export type NameSpec = ReadonlyArray<readonly [string, string]>;

export function encodeName(n: NameSpec): Uint8Array {
  return seq(
    ...n.map(([k, v]) => {
      const type = ATTR[k] ?? k;
      const value = v.startsWith('printable:') ? printable(v.slice(10)) : k === 'C' ? printable(v) : k === 'E' ? ia5(0x16, v) : utf8(v);
      return set(seq(oid(type), value));
    }),
  );
}

// ---- extensions ----

export interface RawExtension {
  oid: string;
  critical?: boolean;
  value: Uint8Array;
}

const KU_BITS = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, dataEncipherment: 3, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 } as const;

function generalName(s: string): Uint8Array {
  const [t, ...rest] = s.split(':');
  const v = rest.join(':');
  switch (t) {
    case 'dns':
      return ia5(0x82, v);
    case 'email':
      return ia5(0x81, v);
    case 'uri':
      return ia5(0x86, v);
    case 'ip': {
      // ip:a.b.c.d or ip:a.b.c.d/nn (a constraint: address and mask)
      const [addr, bits] = v.split('/');
      const a = Uint8Array.from(addr!.split('.').map(Number));
      if (bits === undefined) return tlv(0x87, a);
      const m = new Uint8Array(4);
      for (let i = 0; i < Number(bits); i++) m[i >> 3]! |= 0x80 >> (i & 7);
      return tlv(0x87, a, m);
    }
    case 'dn':
      return tlv(0xa4, encodeName(v.split(',').map((p) => p.split('=') as [string, string])));
    default:
      throw new Error(`unknown general name type ${t}`);
  }
}

export const Ext = {
  basicConstraints: (ca: boolean, pathLen?: number, critical = true): RawExtension => ({
    oid: Oid.basicConstraints,
    critical,
    value: seq(...(ca ? [bool(true)] : []), ...(pathLen !== undefined ? [int(pathLen)] : [])),
  }),
  keyUsage: (usages: (keyof typeof KU_BITS)[], critical = true): RawExtension => {
    let bits = 0;
    for (const u of usages) bits |= 1 << KU_BITS[u];
    const b = Uint8Array.of(0, 0);
    for (let i = 0; i < 9; i++) if (bits & (1 << i)) b[i >> 3]! |= 0x80 >> (i & 7);
    const bytes = b[1] ? b : b.subarray(0, 1);
    let last = -1;
    for (let i = 0; i < 16; i++) if (bits & (1 << i)) last = i;
    const unused = bytes.length * 8 - (last + 1);
    return { oid: Oid.keyUsage, critical, value: bitString(bytes, unused) };
  },
  extKeyUsage: (oids: string[], critical = false): RawExtension => ({ oid: Oid.extKeyUsage, critical, value: seq(...oids.map(oid)) }),
  subjectAltName: (names: string[], critical = false): RawExtension => ({ oid: Oid.subjectAltName, critical, value: seq(...names.map(generalName)) }),
  nameConstraints: (permitted: string[], excluded: string[] = [], critical = true): RawExtension => ({
    oid: Oid.nameConstraints,
    critical,
    value: seq(
      ...(permitted.length ? [tlv(0xa0, ...permitted.map((p) => seq(generalName(p))))] : []),
      ...(excluded.length ? [tlv(0xa1, ...excluded.map((p) => seq(generalName(p))))] : []),
    ),
  }),
  subjectKeyId: (spkiDer: Uint8Array): RawExtension => ({ oid: Oid.subjectKeyId, value: octet(createHash('sha1').update(spkiDer).digest()) }),
  authorityKeyId: (issuerSpkiDer: Uint8Array): RawExtension => ({ oid: Oid.authorityKeyId, value: seq(tlv(0x80, createHash('sha1').update(issuerSpkiDer).digest())) }),
  /** Any extension, e.g. an unknown critical one: `Ext.raw('1.3.6.1.4.1.55738.666.1', true)`. */
  raw: (o: string, critical = false, value: Uint8Array = NULL): RawExtension => ({ oid: o, critical, value }),
};

export const EKU = { clientAuth: Oid.ekuClientAuth, serverAuth: Oid.ekuServerAuth, any: Oid.ekuAny } as const;

// ---- keys and signatures ----

export type CraftKeyType = 'ec-p256' | 'ec-p384' | 'ec-p192' | 'rsa-1024' | 'rsa-2048' | 'ed25519' | 'dsa-2048';

export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

const keyCache = new Map<string, KeyPair>();

/** A key pair; `slot` reuses a cached key per (type, slot) so tests stay fast (RSA generation is slow). */
export function testKey(type: CraftKeyType = 'ec-p256', slot?: string): KeyPair {
  const id = slot === undefined ? undefined : `${type}/${slot}`;
  const hit = id ? keyCache.get(id) : undefined;
  if (hit) return hit;
  let k: KeyPair;
  switch (type) {
    case 'ec-p256':
      k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      break;
    case 'ec-p384':
      k = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
      break;
    case 'ec-p192':
      k = generateKeyPairSync('ec', { namedCurve: 'prime192v1' });
      break;
    case 'rsa-1024':
      k = generateKeyPairSync('rsa', { modulusLength: 1024 });
      break;
    case 'rsa-2048':
      k = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'ed25519':
      k = generateKeyPairSync('ed25519');
      break;
    case 'dsa-2048':
      k = generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 });
      break;
  }
  if (id) keyCache.set(id, k);
  return k;
}

/** `sha256-pss`: RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (RFC 4055). */
export type CraftHash = 'sha256' | 'sha384' | 'sha1' | 'md5' | 'sha256-pss';

function sigAlgId(key: KeyObject, hash: CraftHash): { der: Uint8Array; digest: string | null; pss?: boolean } {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return { der: seq(oid('1.3.101.112')), digest: null };
  if (t === 'rsa' && hash === 'sha256-pss') {
    const sha256 = seq(oid('2.16.840.1.101.3.4.2.1'), NULL);
    const params = seq(tlv(0xa0, sha256), tlv(0xa1, seq(oid('1.2.840.113549.1.1.8'), sha256)), tlv(0xa2, int(32)));
    return { der: seq(oid('1.2.840.113549.1.1.10'), params), digest: 'sha256', pss: true };
  }
  if (t === 'rsa') {
    const o = { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha1: '1.2.840.113549.1.1.5', md5: '1.2.840.113549.1.1.4' }[hash as 'sha256'];
    return { der: seq(oid(o), NULL), digest: hash };
  }
  if (t === 'ec') {
    const o = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha1: '1.2.840.10045.4.1', md5: '', 'sha256-pss': '' }[hash];
    if (!o) throw new Error(`ECDSA with ${hash} does not exist`);
    return { der: seq(oid(o)), digest: hash };
  }
  if (t === 'dsa') return { der: seq(oid('2.16.840.1.101.3.4.3.2')), digest: 'sha256' };
  throw new Error(`cannot sign with a ${t} key`);
}

export interface CraftOptions {
  subject: NameSpec;
  /** Defaults to the subject (self-issued). */
  issuer?: NameSpec;
  /** The certified key (public half used). */
  key: KeyPair;
  /** The issuer's key; defaults to `key` (self-signed). */
  signer?: KeyPair;
  hash?: CraftHash;
  notBefore?: Date;
  notAfter?: Date;
  extensions?: RawExtension[];
  /** Adds SKI (from `key`) and AKI (from `signer`). Default true. */
  keyIds?: boolean;
  /** Flip a bit of the signature. */
  corruptSignature?: boolean;
  version?: 1 | 2 | 3;
  /** Serial number content octets (default: 16 random positive bytes). */
  serial?: Uint8Array;
}

export function craftCertificate(o: CraftOptions): ParsedCert {
  return parseDer(craftCertificateDer(o));
}

/** The DER alone (no parse): for load generators that make tens of thousands of certificates. */
export function craftCertificateDer(o: CraftOptions): Uint8Array {
  const signer = o.signer ?? o.key;
  const hash = o.hash ?? 'sha256';
  const alg = sigAlgId(signer.privateKey, hash);
  const spki = new Uint8Array(o.key.publicKey.export({ type: 'spki', format: 'der' }));
  const signerSpki = new Uint8Array(signer.publicKey.export({ type: 'spki', format: 'der' }));
  const exts = [...(o.extensions ?? [])];
  if (o.keyIds ?? true) exts.push(Ext.subjectKeyId(spki), Ext.authorityKeyId(signerSpki));
  const serial = o.serial ?? randomBytes(16);
  if (!o.serial) serial[0] = (serial[0]! & 0x7f) | 0x01;
  const nb = o.notBefore ?? new Date(Date.now() - 3600_000);
  const na = o.notAfter ?? new Date(nb.getTime() + 365 * 86_400_000);
  const version = o.version ?? 3;
  const tbs = seq(
    ...(version > 1 ? [tlv(0xa0, int(version - 1))] : []),
    int(serial, !!o.serial),
    alg.der,
    encodeName(o.issuer ?? o.subject),
    seq(time(nb), time(na)),
    encodeName(o.subject),
    spki,
    ...(exts.length ? [tlv(0xa3, seq(...exts.map((e) => seq(oid(e.oid), ...(e.critical ? [bool(true)] : []), octet(e.value)))))] : []),
  );
  const sig = new Uint8Array(
    alg.pss ? sign(alg.digest, tbs, { key: signer.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }) : sign(alg.digest, tbs, signer.privateKey),
  );
  if (o.corruptSignature) sig[sig.length - 5]! ^= 0x01;
  return new Uint8Array(seq(tbs, alg.der, bitString(sig)));
}

// ---- certificate revocation lists ----

export interface CraftCrlEntry {
  /** Serial number content octets, or hex. */
  serial: Uint8Array | string;  // bytes are the INTEGER's content octets as given (a leading 0x80 makes it negative)
  revokedAt?: Date;
  /** RFC 5280 §5.3.1 reason code (e.g. 1 keyCompromise, 8 removeFromCRL). */
  reason?: number;
  extensions?: RawExtension[];
}

export interface CraftCrlOptions {
  /** The issuer name: a NameSpec, or the DER of a certificate's subject (`cert.x.subjectName.toArrayBuffer()`). */
  issuer: NameSpec | Uint8Array;
  signer: KeyPair;
  hash?: CraftHash;
  thisUpdate?: Date;
  /** null: no nextUpdate field. */
  nextUpdate?: Date | null;
  /** cRLNumber; undefined: none. */
  number?: number;
  entries?: CraftCrlEntry[];
  /** Further CRL extensions (deltaCRLIndicator, issuingDistributionPoint, unknown critical ones …). */
  extensions?: RawExtension[];
  /** 1: no version field (then no extensions either, unless given). Default 2. */
  version?: 1 | 2;
  corruptSignature?: boolean;
  /** Encode a different AlgorithmIdentifier in the TBSCertList than outside it (RFC 5280 §5.1.1.2). */
  mismatchedAlgorithm?: boolean;
}

const extensionsDer = (exts: RawExtension[]) => seq(...exts.map((e) => seq(oid(e.oid), ...(e.critical ? [bool(true)] : []), octet(e.value))));
const serialBytes = (s: Uint8Array | string) => (typeof s === 'string' ? Uint8Array.from(Buffer.from(s.length % 2 ? `0${s}` : s, 'hex')) : s);

/** A CRL built field by field and signed with Node crypto (linear in its entries: 100,000 in about a second). */
export function craftCrl(o: CraftCrlOptions): Uint8Array {
  const alg = sigAlgId(o.signer.privateKey, o.hash ?? 'sha256');
  const version = o.version ?? 2;
  const thisUpdate = o.thisUpdate ?? new Date(Date.now() - 60_000);
  const nextUpdate = o.nextUpdate === undefined ? new Date(thisUpdate.getTime() + 7 * 86_400_000) : o.nextUpdate;
  const exts = [...(o.number !== undefined ? [{ oid: '2.5.29.20', value: int(o.number) }] : []), ...(o.extensions ?? [])];
  const entries = (o.entries ?? []).map((e) => {
    const ee = [...(e.reason !== undefined ? [{ oid: '2.5.29.21', value: tlv(0x0a, Uint8Array.of(e.reason)) }] : []), ...(e.extensions ?? [])];
    return seq(int(serialBytes(e.serial), typeof e.serial !== 'string'), time(e.revokedAt ?? thisUpdate), ...(ee.length ? [extensionsDer(ee)] : []));
  });
  const otherAlg = o.mismatchedAlgorithm ? sigAlgId(o.signer.privateKey, 'sha384').der : alg.der;
  const tbs = seq(
    ...(version === 2 ? [int(1)] : []),
    otherAlg,
    o.issuer instanceof Uint8Array ? o.issuer : encodeName(o.issuer),
    time(thisUpdate),
    ...(nextUpdate ? [time(nextUpdate)] : []),
    ...(entries.length ? [tlvOf(0x30, entries)] : []),
    ...(exts.length ? [tlv(0xa0, extensionsDer(exts))] : []),
  );
  const sig = new Uint8Array(alg.pss ? sign(alg.digest, tbs, { key: o.signer.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }) : sign(alg.digest, tbs, o.signer.privateKey));
  if (o.corruptSignature) sig[sig.length - 5]! ^= 0x01;
  return new Uint8Array(seq(tbs, alg.der, bitString(sig)));
}
