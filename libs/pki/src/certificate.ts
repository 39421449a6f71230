// Parse once into a small value: fingerprints, names, constraints. Raw DER stays inside libs/pki.
import 'reflect-metadata';
import { createHash, createPublicKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { LruMap } from '@twoway/lru';
import { PkiError } from './errors.js';
import { readPemBlocks, toPem } from './pem.js';
import { Tag, children, hex, readBitString, readOid, readOne, readTime, type Tlv } from './der.js';
import { factsOf, type CertFacts } from './cert-facts.js';

export interface ParsedCert {
  readonly der: Uint8Array;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprint: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly commonName: string | undefined;
  /** DNS, IP, email and URI subject alternative names, as `dns:x`, `ip:x`, `email:x`, `uri:x`. */
  readonly sans: readonly string[];
  readonly isCa: boolean;
  readonly pathLen: number | undefined;
  readonly selfIssued: boolean;
  readonly kind: 'root' | 'intermediate' | 'leaf';
  /** e.g. `EC P-256`, `RSA 2048`, `Ed25519`. */
  readonly keyType: string;
  readonly pem: string;
  /** The @peculiar/x509 object, for the validator inside this library. */
  readonly x: x509.X509Certificate;
}

export const sha256Hex = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');

const CURVES: Record<string, string> = { '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384', '1.3.132.0.35': 'P-521' };
const NODE_CURVES: Record<string, string> = { '1.3.132.0.10': 'secp256k1', '1.2.840.10045.3.1.1': 'prime192v1', '1.3.132.0.33': 'secp224r1' };

/**
 * The key type read from the SubjectPublicKeyInfo's DER (algorithm, named curve, modulus size): a few
 * microseconds, where building a KeyObject for it cost ~0.7 ms a certificate. Anything unusual goes
 * the slow way, which names every key type Node knows.
 */
function keyTypeOf(der: Uint8Array, c: x509.X509Certificate): string {
  try {
    const tbs = children(readOne(der))[0]!;
    const f = children(tbs);
    return keyTypeOfSpki(f[(f[0]!.tag === 0xa0 ? 1 : 0) + 5]!.raw);
  } catch {
    return keyTypeOfKeyObject(new Uint8Array(c.publicKey.rawData));
  }
}

function keyTypeOfSpki(spkiDer: Uint8Array): string {
  try {
    const [algId, key] = children(readOne(spkiDer));
    const [oidT, params] = children(algId!);
    const oid = readOid(oidT!);
    if (oid === '1.2.840.10045.2.1' && params?.tag === Tag.OID) {
      const curve = readOid(params);
      if (CURVES[curve]) return `EC ${CURVES[curve]}`;
      if (NODE_CURVES[curve]) return `EC ${NODE_CURVES[curve]}`;
    } else if (oid === '1.2.840.113549.1.1.1' || oid === '1.2.840.113549.1.1.10') {
      const { bytes } = readBitString(key!);
      const n = children(readOne(bytes))[0]!.value;
      let i = 0;
      while (i < n.length - 1 && n[i] === 0) i++;
      return `RSA ${(n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!))}`;
    } else if (oid === '1.3.101.112') {
      return 'Ed25519';
    }
  } catch {
    /* the slow way below says what it is, or 'unknown' */
  }
  return keyTypeOfKeyObject(spkiDer);
}

function keyTypeOfKeyObject(spkiDer: Uint8Array): string {
  try {
    const k = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    const d = k.asymmetricKeyDetails ?? {};
    if (k.asymmetricKeyType === 'ec') return `EC ${d.namedCurve === 'prime256v1' ? 'P-256' : d.namedCurve === 'secp384r1' ? 'P-384' : d.namedCurve === 'secp521r1' ? 'P-521' : (d.namedCurve ?? '?')}`;
    if (k.asymmetricKeyType === 'rsa' || k.asymmetricKeyType === 'rsa-pss') return `RSA ${d.modulusLength ?? '?'}`;
    if (k.asymmetricKeyType === 'ed25519') return 'Ed25519';
    return String(k.asymmetricKeyType ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

function sansOf(c: x509.X509Certificate): string[] {
  const ext = c.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  return ext.names.items.map((n) => `${n.type}:${n.value}`);
}

// Parsing with @peculiar/x509 costs ~1–2 ms a certificate; the broker sees the same intermediates on
// every connect and the same device on every reconnect. ParsedCert is frozen, so sharing is safe.
// Bounded, least recently used first (libs/pki caches.ts sets the bound).
export const DEFAULT_PARSED_CERTS_MAX = 10_000;
export const parsedCerts = new LruMap<string, ParsedCert>(DEFAULT_PARSED_CERTS_MAX);

export function parseDer(der: Uint8Array): ParsedCert {
  const fingerprint = sha256Hex(der);
  const hit = parsedCerts.get(fingerprint);
  if (hit) return hit;
  // Own copy: the cached value must not change if the caller reuses its buffer.
  const cert = parseDerUncached(new Uint8Array(der), fingerprint);
  parsedCerts.set(fingerprint, cert);
  return cert;
}

function parseDerUncached(der: Uint8Array, fingerprint: string): ParsedCert {
  return parseFast(der, fingerprint) ?? parseWithPeculiar(der, fingerprint);
}

/**
 * The common case without @peculiar/x509: everything a decision needs is read by our own DER reader
 * (cert-facts.ts, which the validator reads anyway): ~0.5 ms where @peculiar/x509 takes 2–3 ms (libs/pki/bench/cert-parse.bench.ts). That
 * parse dominated building trust sets of many pinned leaves (every broker, after every restart) and
 * each new device's first connect. The display fields (subject, issuer, common name, SANs, PEM) and the
 * @peculiar/x509 object are made on first use, by @peculiar/x509 as before, so they read exactly as
 * they did. A certificate our reader finds anything wrong with, or whose serial or validity it does not
 * read, goes the old way (and fails there as before when @peculiar/x509 cannot read it).
 */
export function parseFast(der: Uint8Array, fingerprint: string): ParsedCert | undefined {
  let f: CertFacts;
  let serial: string;
  let notBefore: Date;
  let notAfter: Date;
  let names: { issuer: FormattedName | undefined; subject: FormattedName | undefined };
  try {
    f = factsOf(der, fingerprint);
    if (f.structureProblem || f.unknownCritical) return undefined;
    const tbs = children(readOne(f.tbs));
    const i = tbs[0]!.tag === 0xa0 ? 1 : 0;
    serial = serialHex(tbs[i]!.value);
    [notBefore, notAfter] = children(tbs[i + 3]!).map(readTime) as [Date, Date];
    names = { issuer: formatName(tbs[i + 2]!), subject: formatName(tbs[i + 4]!) };
  } catch {
    return undefined;
  }
  const isCa = !!f.basicConstraints?.ca;
  let x: x509.X509Certificate | undefined;
  let display: { subject: string; issuer: string; commonName: string | undefined; sans: readonly string[] } | undefined;
  let pem: string | undefined;
  const peculiar = () => (x ??= new x509.X509Certificate(der as Uint8Array<ArrayBuffer>));
  // What @peculiar/x509 says, read once. A part it cannot read (an extension our reader skips, such as
  // a damaged authorityInfoAccess) must not turn a lookup into an exception on the connect path: the
  // canonical names stand in, and no SAN or common name is claimed (identity binding then refuses).
  const shown = () =>
    (display ??= (() => {
      try {
        const c = peculiar();
        return { subject: c.subject, issuer: c.issuer, commonName: c.subjectName.getField('CN')[0], sans: sansOf(c) };
      } catch {
        return { subject: f.subject.rdns.join(', '), issuer: f.issuer.rdns.join(', '), commonName: undefined, sans: [] };
      }
    })());
  // Names of the usual string types are rendered here as @peculiar/x509 renders them; SANs only when
  // there are none (most device certificates). Anything else is asked of @peculiar/x509, on first use.
  const { subject, issuer } = names;
  const ownSans = sansOfFacts(f);
  const cert = {
    der,
    fingerprint,
    serial,
    notBefore,
    notAfter,
    isCa,
    pathLen: f.basicConstraints?.pathLen,
    selfIssued: f.selfIssued,
    kind: isCa ? (f.selfIssued ? 'root' : 'intermediate') : 'leaf',
    keyType: keyTypeOfSpki(f.spkiDer),
  } as const;
  const lazy = (get: () => unknown): PropertyDescriptor => ({ get, enumerable: true });
  return Object.freeze(
    Object.defineProperties(cert, {
      subject: subject ? { value: subject.text, enumerable: true } : lazy(() => shown().subject),
      issuer: issuer ? { value: issuer.text, enumerable: true } : lazy(() => shown().issuer),
      commonName: subject ? { value: subject.commonName, enumerable: true } : lazy(() => shown().commonName),
      sans: ownSans ? { value: ownSans, enumerable: true } : lazy(() => shown().sans),
      pem: lazy(() => (pem ??= toPem(der))),
      x: lazy(peculiar),
    }),
  ) as unknown as ParsedCert;
}

interface FormattedName {
  text: string;
  /** The first common name, unescaped (`Name.getField('CN')[0]`). */
  commonName: string | undefined;
}

/** @peculiar/x509's short names for attribute types; others are shown as their OID. */
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC', '1.2.840.113549.1.9.1': 'E', '2.5.4.42': 'G', '2.5.4.43': 'I', '2.5.4.4': 'SN', '2.5.4.12': 'T',
};
const OID_CN = '2.5.4.3';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** @peculiar/x509's escaping of a value in `Name.toString()`, to the character (its last rule replaces only the first match). */
function escapeValue(v: string): string {
  return v
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (c) => `\\${Buffer.from(c, 'utf8').toString('hex').toUpperCase()}`);
}

/**
 * A Name as @peculiar/x509's `Name.toString()` shows it (RDNs in order, `, ` between them, `+` within
 * one), for values that are UTF8String, PrintableString or IA5String; undefined for any other string
 * type (BMP, Teletex, Universal, or a non-string), whose decoding is left to @peculiar/x509.
 */
function formatName(t: Tlv): FormattedName | undefined {
  let commonName: string | undefined;
  const rdns: string[] = [];
  for (const set of children(t)) {
    const parts: string[] = [];
    for (const atv of children(set)) {
      const [oidT, v] = children(atv);
      const oid = readOid(oidT!);
      let value: string;
      if (v!.tag === Tag.UTF8String) value = utf8.decode(v!.value);
      else if (v!.tag === Tag.PrintableString || v!.tag === Tag.IA5String) value = Buffer.from(v!.value).toString('latin1');
      else return undefined;
      if (oid === OID_CN && commonName === undefined) commonName = value;
      parts.push(`${SHORT_NAMES[oid] ?? oid}=${escapeValue(value)}`);
    }
    rdns.push(parts.join('+'));
  }
  return { text: rdns.join(', '), commonName };
}

/** @peculiar/x509's names of GeneralName types, for the ones rendered here (IP addresses and the rest are left to it). */
const SAN_TYPES: Partial<Record<string, string>> = { dns: 'dns', email: 'email', uri: 'url' };

/** The SANs as @peculiar/x509 lists them (`type:value`, in order); undefined when one is of another type. */
function sansOfFacts(f: CertFacts): readonly string[] | undefined {
  const out: string[] = [];
  for (const n of f.sans ?? []) {
    const type = SAN_TYPES[n.type];
    if (!type || typeof n.value !== 'string') return undefined;
    out.push(`${type}:${n.value}`);
  }
  return Object.freeze(out);
}

/** @peculiar/x509's rendering of a serial: the INTEGER's bytes in hex, without a sign byte of zero. */
function serialHex(v: Uint8Array): string {
  return hex(v.length > 1 && v[0] === 0 ? v.subarray(1) : v);
}

export function parseWithPeculiar(der: Uint8Array, fingerprint: string): ParsedCert {
  let c: x509.X509Certificate;
  try {
    c = new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
    // Touch the lazily parsed fields so a damaged certificate fails here, not later.
    void c.subject;
    void c.issuer;
    void c.notBefore;
    void c.extensions;
  } catch (e) {
    throw new PkiError('CERT_PEM_INVALID', 'the certificate could not be parsed as X.509 DER', { cause: e });
  }
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  const isCa = !!bc?.ca;
  const selfIssued = c.subjectName.toString() === c.issuerName.toString();
  const cn = c.subjectName.getField('CN')[0];
  return Object.freeze({
    der,
    fingerprint,
    subject: c.subject,
    issuer: c.issuer,
    serial: c.serialNumber,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    commonName: cn,
    sans: sansOf(c),
    isCa,
    pathLen: bc?.pathLength,
    selfIssued,
    kind: isCa ? (selfIssued ? 'root' : 'intermediate') : 'leaf',
    keyType: keyTypeOf(der, c),
    pem: toPem(der),
    x: c,
  } satisfies ParsedCert);
}

/** Every certificate of a PEM text (a chain file is fine); refuses private keys and non-certificate blocks. */
export function parsePemCertificates(text: string): ParsedCert[] {
  const blocks = readPemBlocks(text);
  return blocks.map((b, i) => {
    if (b.label !== 'CERTIFICATE' && b.label !== 'X509 CERTIFICATE' && b.label !== 'TRUSTED CERTIFICATE') {
      throw new PkiError('CERT_PEM_INVALID', `block ${i + 1} is a ${b.label}, not a CERTIFICATE`);
    }
    try {
      return parseDer(b.der);
    } catch (e) {
      throw new PkiError('CERT_PEM_INVALID', `block ${i + 1}: the certificate could not be parsed (damaged or truncated DER)`, { cause: e });
    }
  });
}

/** Exactly one certificate, for one registry entry. */
export function parseSinglePem(text: string): ParsedCert {
  const certs = parsePemCertificates(text);
  if (certs.length !== 1) throw new PkiError('CERT_MULTIPLE', `found ${certs.length} certificates; register one certificate per entry (or upload the file as a chain to split it)`);
  return certs[0]!;
}
