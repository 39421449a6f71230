// Parse once into a small value: fingerprints, names, constraints. Raw DER stays inside libs/pki.
import 'reflect-metadata';
import { createHash, createPublicKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { LruMap } from '@twoway/lru';
import { PkiError } from './errors.js';
import { readPemBlocks, toPem } from './pem.js';
import { Tag, children, readBitString, readOid, readOne } from './der.js';

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
    const spki = f[(f[0]!.tag === 0xa0 ? 1 : 0) + 5]!;
    const [algId, key] = children(spki);
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
  return keyTypeOfKeyObject(c);
}

function keyTypeOfKeyObject(c: x509.X509Certificate): string {
  try {
    const k = createPublicKey({ key: Buffer.from(c.publicKey.rawData), format: 'der', type: 'spki' });
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
