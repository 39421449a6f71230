// Everything the validator needs from one certificate, read once from its DER and cached by fingerprint
// (the broker validates the same few CA certificates on every connect). Problems are recorded, not
// thrown: a damaged certificate that no candidate path uses must not fail the validation.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { ChainReason } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import { children, DerError, bytesEqual, expect, readBitString, readBoolean, readOid, readOne, readSmallUint, Tag, type Tlv } from './der.js';
import { parseGeneralNames, parseName, parseNameConstraints, type DistinguishedName, type GeneralName, type NameConstraints } from './names.js';

export const Oid = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  nameConstraints: '2.5.29.30',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  certificatePolicies: '2.5.29.32',
  ekuServerAuth: '1.3.6.1.5.5.7.3.1',
  ekuClientAuth: '1.3.6.1.5.5.7.3.2',
  ekuAny: '2.5.29.37.0',
} as const;

/**
 * Extensions we may accept as critical. certificatePolicies is accepted because we validate with the
 * initial policy set anyPolicy and no explicit-policy requirement (RFC 5280 §6.1.1 (c)-(f)), under which
 * policies cannot make a path invalid; policyConstraints, policyMappings and inhibitAnyPolicy can, so a
 * critical one is refused as unknown (fail closed).
 */
const CRITICAL_UNDERSTOOD = new Set<string>([
  Oid.basicConstraints,
  Oid.keyUsage,
  Oid.extKeyUsage,
  Oid.subjectAltName,
  Oid.issuerAltName,
  Oid.nameConstraints,
  Oid.subjectKeyId,
  Oid.authorityKeyId,
  Oid.certificatePolicies,
]);

/** keyUsage bits, numbered as in RFC 5280 §4.2.1.3. */
export const KeyUsageBit = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, dataEncipherment: 3, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 } as const;

export interface SignatureAlgorithm {
  /** Node digest name, or null for Ed25519/Ed448. */
  hash: string | null;
  family: 'rsa' | 'rsa-pss' | 'ecdsa' | 'eddsa';
  pssSaltLength?: number;
}

export interface Problem {
  reason: ChainReason;
  detail: string;
}

export interface CertFacts {
  fingerprint: string;
  version: number;
  tbs: Uint8Array;
  signature: Uint8Array;
  sigAlg: SignatureAlgorithm | undefined;
  /** Set when the signature algorithm is weak or unsupported, or the two AlgorithmIdentifiers differ. */
  sigAlgProblem: Problem | undefined;
  subject: DistinguishedName;
  issuer: DistinguishedName;
  selfIssued: boolean;
  key: KeyObject | undefined;
  keyFamily: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'other';
  /** Set when the public key is weak, unsupported or unreadable. */
  keyProblem: Problem | undefined;
  spkiDer: Uint8Array;
  /** Structural problems with the certificate itself (version, empty issuer, extensions). */
  structureProblem: Problem | undefined;
  unknownCritical: string | undefined;
  basicConstraints: { ca: boolean; pathLen: number | undefined } | undefined;
  /** Bit set of keyUsage (bit n = RFC bit n), undefined when absent. */
  keyUsage: number | undefined;
  eku: readonly string[] | undefined;
  sans: readonly GeneralName[] | undefined;
  nameConstraints: NameConstraints | undefined;
  ski: string | undefined;
  akiKeyId: string | undefined;
}

const RSA_PKCS1: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.113549.1.1.14': 'sha224',
};
const ECDSA: Record<string, string> = {
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
/** Algorithms refused as weak (MD2, MD4, MD5, SHA-1 with RSA, ECDSA or DSA). */
const WEAK_SIG: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.3': 'md4WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.3.14.3.2.29': 'sha1WithRSASignature (OIW)',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '2.16.840.1.101.3.4.3.1': 'dsa-with-sha224',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-sha256',
};
const HASH_OIDS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.4': 'sha224',
};
const OID_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';

function isNull(t: Tlv | undefined): boolean {
  return !!t && t.tag === Tag.NULL && t.value.length === 0;
}

function hashOf(algId: Tlv): string | undefined {
  const [oid, params] = children(expect(algId, Tag.SEQUENCE, 'hash AlgorithmIdentifier'));
  if (params && !isNull(params)) return undefined;
  return HASH_OIDS[readOid(oid!)];
}

/** Classifies a signature AlgorithmIdentifier; a Problem when it is weak or unsupported (certificates and CRLs). */
export function signatureAlgorithm(algId: Tlv): { alg?: SignatureAlgorithm; problem?: Problem } {
  const [oidT, params, extra] = children(expect(algId, Tag.SEQUENCE, 'AlgorithmIdentifier'));
  if (!oidT || extra) throw new DerError('AlgorithmIdentifier: bad structure');
  const oid = readOid(oidT);
  if (WEAK_SIG[oid]) return { problem: { reason: 'WEAK_SIGNATURE_ALGORITHM', detail: `${WEAK_SIG[oid]} is refused (collisions are practical)` } };
  if (RSA_PKCS1[oid]) {
    // RFC 4055 §5: parameters MUST be NULL; tolerate absent as many encoders do.
    if (params && !isNull(params)) return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'RSA signature with unexpected parameters' } };
    return { alg: { family: 'rsa', hash: RSA_PKCS1[oid]! } };
  }
  if (ECDSA[oid]) {
    // RFC 5758 §3.2: the parameters field MUST be absent.
    if (params) return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'ECDSA signature with parameters' } };
    return { alg: { family: 'ecdsa', hash: ECDSA[oid]! } };
  }
  if (oid === '1.3.101.112' || oid === '1.3.101.113') {
    if (params) return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'EdDSA signature with parameters' } };
    return { alg: { family: 'eddsa', hash: null } };
  }
  if (oid === OID_PSS) {
    // RFC 4055 §3.1 RSASSA-PSS-params; defaults are SHA-1 and MGF1-SHA-1, which we refuse as weak.
    let hash = 'sha1';
    let mgfHash = 'sha1';
    let salt = 20;
    if (!params || params.tag !== Tag.SEQUENCE) return { problem: { reason: 'WEAK_SIGNATURE_ALGORITHM', detail: 'RSASSA-PSS with default (SHA-1) parameters' } };
    for (const p of children(params)) {
      const inner = readOne(p.value);
      if (p.tag === 0xa0) hash = hashOf(inner) ?? '?';
      else if (p.tag === 0xa1) {
        const [mgfOid, mgfParams] = children(expect(inner, Tag.SEQUENCE, 'MGF'));
        if (readOid(mgfOid!) !== OID_MGF1 || !mgfParams) return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'RSASSA-PSS with a mask generation function other than MGF1' } };
        mgfHash = hashOf(mgfParams) ?? '?';
      } else if (p.tag === 0xa2) salt = readSmallUint(inner);
      else if (p.tag === 0xa3) {
        if (readSmallUint(inner) !== 1) return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'RSASSA-PSS trailer field must be 1' } };
      } else throw new DerError('RSASSA-PSS-params: unexpected element');
    }
    if (hash === 'sha1' || mgfHash === 'sha1') return { problem: { reason: 'WEAK_SIGNATURE_ALGORITHM', detail: 'RSASSA-PSS with SHA-1' } };
    if (hash === '?' || hash !== mgfHash) return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'RSASSA-PSS with an unsupported or mismatched hash' } };
    return { alg: { family: 'rsa-pss', hash, pssSaltLength: salt } };
  }
  return { problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: `signature algorithm ${oid} is not supported` } };
}

const KNOWN_KEY_OIDS = new Map([
  ['1.2.840.113549.1.1.1', 'RSA'],
  ['1.2.840.113549.1.1.10', 'RSA-PSS'],
  ['1.2.840.10045.2.1', 'EC'],
  ['1.3.101.112', 'Ed25519'],
  ['1.3.101.113', 'Ed448'],
]);
const STRONG_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
const MIN_RSA_BITS = 2048;

function publicKey(spki: Tlv): { key?: KeyObject; family: CertFacts['keyFamily']; problem?: Problem } {
  const [algId] = children(spki);
  const [oidT, params] = children(expect(algId, Tag.SEQUENCE, 'SubjectPublicKeyInfo algorithm'));
  const oid = readOid(oidT!);
  if (oid === '1.2.840.10040.4.1') return { family: 'other', problem: { reason: 'WEAK_KEY', detail: 'DSA keys are refused' } };
  if (oid === '1.2.840.10045.2.1' && params && params.tag !== Tag.OID) {
    // CABF BR §7.1.3.1.2 and RFC 5480 §2.1.1: named curves only; explicit parameters hide the curve.
    return { family: 'ec', problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: 'EC key with explicit curve parameters; use a named curve' } };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki.raw), format: 'der', type: 'spki' });
  } catch {
    if (KNOWN_KEY_OIDS.has(oid)) return { family: 'other', problem: { reason: 'CERT_MALFORMED', detail: `the ${KNOWN_KEY_OIDS.get(oid)} public key is malformed` } };
    return { family: 'other', problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: `public key algorithm ${oid} is not supported` } };
  }
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = d.modulusLength ?? 0;
      const family = key.asymmetricKeyType;
      if (bits < MIN_RSA_BITS) return { key, family, problem: { reason: 'WEAK_KEY', detail: `RSA ${bits}-bit key; at least ${MIN_RSA_BITS} bits required` } };
      return { key, family };
    }
    case 'ec':
      if (!d.namedCurve || !STRONG_CURVES.has(d.namedCurve)) return { key, family: 'ec', problem: { reason: 'WEAK_KEY', detail: `EC curve ${d.namedCurve ?? 'explicit'} is refused; use P-256, P-384 or P-521` } };
      return { key, family: 'ec' };
    case 'ed25519':
    case 'ed448':
      return { key, family: key.asymmetricKeyType };
    default:
      return { key, family: 'other', problem: { reason: 'UNSUPPORTED_ALGORITHM', detail: `key type ${key.asymmetricKeyType} cannot sign certificates` } };
  }
}

interface Extensions {
  critical: Set<string>;
  unknownCritical?: string;
  basicConstraints?: CertFacts['basicConstraints'];
  keyUsage?: number;
  eku?: string[];
  sans?: GeneralName[];
  nameConstraints?: NameConstraints;
  ski?: string;
  akiKeyId?: string;
}

/** RFC 5280 §4.2: each extension at most once, each value well-formed. Throws DerError otherwise. */
function readExtensions(t: Tlv): Extensions {
  const out: Extensions = { critical: new Set() };
  const seen = new Set<string>();
  const list = children(expect(readOne(t.value), Tag.SEQUENCE, 'Extensions'));
  if (list.length === 0) throw new DerError('Extensions must not be empty');
  for (const ext of list) {
    const parts = children(expect(ext, Tag.SEQUENCE, 'Extension'));
    const oid = readOid(parts[0]!);
    let critical = false;
    let i = 1;
    if (parts[i]?.tag === Tag.BOOLEAN) {
      // An explicit FALSE is not DER (X.690 §11.5) but harmless and still issued by old CAs: tolerated.
      critical = readBoolean(parts[i]!);
      i++;
    }
    const value = expect(parts[i], Tag.OCTET_STRING, `extension ${oid} value`).value;
    if (parts.length !== i + 1) throw new DerError(`extension ${oid}: unexpected fields`);
    if (seen.has(oid)) throw new DerError(`extension ${oid} appears twice (RFC 5280 §4.2)`);
    seen.add(oid);
    if (critical) out.critical.add(oid);
    if (critical && !CRITICAL_UNDERSTOOD.has(oid) && !out.unknownCritical) out.unknownCritical = oid;
    try {
      switch (oid) {
        case Oid.basicConstraints: {
          const f = children(readOne(value, Tag.SEQUENCE));
          let j = 0;
          let ca = false;
          if (f[j]?.tag === Tag.BOOLEAN) {
            ca = readBoolean(f[j]!);
            j++;
          }
          let pathLen: number | undefined;
          if (f[j]) pathLen = readSmallUint(f[j++]!);
          if (f[j]) throw new DerError('unexpected field');
          out.basicConstraints = { ca, pathLen };
          break;
        }
        case Oid.keyUsage: {
          const { unused, bytes } = readBitString(readOne(value));
          if (bytes.length === 0 || bytes.length > 2) throw new DerError('keyUsage bit string length');
          let bits = 0;
          for (let b = 0; b < bytes.length * 8 - unused; b++) if (bytes[b >> 3]! & (0x80 >> (b & 7))) bits |= 1 << b;
          // RFC 5280 §4.2.1.3: "When the keyUsage extension appears, at least one of the bits MUST be set to 1."
          if (bits === 0) throw new DerError('keyUsage has no bit set');
          out.keyUsage = bits;
          break;
        }
        case Oid.extKeyUsage: {
          const list2 = children(readOne(value, Tag.SEQUENCE)).map(readOid);
          // RFC 5280 §4.2.1.12: KeyPurposeId SIZE (1..MAX).
          if (list2.length === 0) throw new DerError('extendedKeyUsage lists no purpose');
          out.eku = list2;
          break;
        }
        case Oid.subjectAltName:
          out.sans = parseGeneralNames(value);
          break;
        case Oid.issuerAltName:
          parseGeneralNames(value);
          break;
        case Oid.nameConstraints:
          out.nameConstraints = parseNameConstraints(value);
          break;
        case Oid.subjectKeyId:
          out.ski = Buffer.from(readOne(value, Tag.OCTET_STRING).value).toString('hex');
          break;
        case Oid.authorityKeyId: {
          const f = children(readOne(value, Tag.SEQUENCE));
          const kid = f.find((x) => x.tag === 0x80);
          if (kid) out.akiKeyId = Buffer.from(kid.value).toString('hex');
          break;
        }
        default:
          // Not one we act on, but its value must still be well-formed DER: a damaged extension
          // (e.g. an authorityInfoAccess whose lengths do not add up) marks a damaged certificate.
          wellFormed(value);
          break;
      }
    } catch (e) {
      throw new DerError(`extension ${oid} is malformed: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Bounds of the well-formedness walk: an honest extension has a few dozen values. */
const WELL_FORMED_MAX_NODES = 10_000;
const WELL_FORMED_MAX_DEPTH = 32;

/** Exactly one TLV whose constructed values nest correctly, within the bounds above; throws DerError otherwise. */
function wellFormed(der: Uint8Array): void {
  let nodes = 0;
  const walk = (t: Tlv, depth: number): void => {
    if (++nodes > WELL_FORMED_MAX_NODES) throw new DerError(`more than ${WELL_FORMED_MAX_NODES} values`);
    if (depth > WELL_FORMED_MAX_DEPTH) throw new DerError(`nested deeper than ${WELL_FORMED_MAX_DEPTH}`);
    if (t.tag & 0x20) for (const c of children(t)) walk(c, depth + 1);
  };
  walk(readOne(der), 0);
}

function parse(der: Uint8Array, fingerprint: string): CertFacts {
  const cert = readOne(der, Tag.SEQUENCE);
  const [tbs, outerAlg, sigBits, extra] = children(cert);
  if (!tbs || !outerAlg || !sigBits || extra) throw new DerError('Certificate must have exactly three fields');
  const f = children(expect(tbs, Tag.SEQUENCE, 'TBSCertificate'));
  let i = 0;
  let version = 1;
  if (f[i]?.tag === 0xa0) {
    version = readSmallUint(readOne(f[i]!.value)) + 1;
    i++;
  }
  const serialT = expect(f[i++], Tag.INTEGER, 'serialNumber');
  const innerAlg = expect(f[i++], Tag.SEQUENCE, 'signature');
  const issuerT = expect(f[i++], Tag.SEQUENCE, 'issuer');
  expect(f[i++], Tag.SEQUENCE, 'validity');
  const subjectT = expect(f[i++], Tag.SEQUENCE, 'subject');
  const spkiT = expect(f[i++], Tag.SEQUENCE, 'subjectPublicKeyInfo');
  if (f[i]?.tag === 0x81) i++;
  if (f[i]?.tag === 0x82) i++;
  let exts: Extensions = { critical: new Set() };
  let structureProblem: Problem | undefined;
  if (f[i]?.tag === 0xa3) {
    try {
      exts = readExtensions(f[i]!);
    } catch (e) {
      structureProblem = { reason: 'INVALID_EXTENSION', detail: (e as Error).message };
    }
    i++;
  }
  if (f[i]) throw new DerError('TBSCertificate: unexpected trailing fields');

  const subject = parseName(subjectT);
  const issuer = parseName(issuerT);
  // The profile is X.509 v3 (docs/design.md §1 rules rely on extensions); RFC 5280 §4.1.2.4: the issuer
  // field MUST contain a non-empty distinguished name.
  if (!structureProblem && version !== 3) structureProblem = { reason: 'CERT_MALFORMED', detail: `X.509 version ${version}; only v3 certificates are accepted` };
  if (!structureProblem && issuer.empty) structureProblem = { reason: 'CERT_MALFORMED', detail: 'empty issuer name (RFC 5280 §4.1.2.4)' };
  structureProblem ??= profileProblem(serialT, subject, exts);

  let { alg: sigAlg, problem: sigAlgProblem } = signatureAlgorithm(outerAlg);
  // RFC 5280 §4.1.1.2: signatureAlgorithm MUST be the same algorithm identifier as the TBS signature field.
  if (!bytesEqual(outerAlg.raw, innerAlg.raw)) {
    sigAlg = undefined;
    sigAlgProblem = { reason: 'CERT_MALFORMED', detail: 'signatureAlgorithm differs from the TBSCertificate signature field (RFC 5280 §4.1.1.2)' };
  }
  const { unused, bytes: signature } = readBitString(sigBits);
  // A signature is a whole number of octets; anything else cannot verify (PKITS 4.1.2 "Bad Signed CA").
  if (unused !== 0 && !sigAlgProblem) sigAlgProblem = { reason: 'SIGNATURE_INVALID', detail: 'the signature BIT STRING has unused bits' };
  const pk = publicKey(spkiT);
  return {
    fingerprint,
    version,
    tbs: tbs.raw,
    signature,
    sigAlg,
    sigAlgProblem,
    subject,
    issuer,
    selfIssued: subject.key === issuer.key,
    key: pk.key,
    keyFamily: pk.family,
    keyProblem: pk.problem,
    spkiDer: spkiT.raw,
    structureProblem,
    unknownCritical: exts.unknownCritical,
    basicConstraints: exts.basicConstraints,
    keyUsage: exts.keyUsage,
    eku: exts.eku,
    sans: exts.sans,
    nameConstraints: exts.nameConstraints,
    ski: exts.ski,
    akiKeyId: exts.akiKeyId,
  };
}

/** RFC 5280 MUSTs about a certificate's own fields, checked on every certificate of a path. */
function profileProblem(serial: Tlv, subject: DistinguishedName, e: Extensions): Problem | undefined {
  const v = serial.value;
  // §4.1.2.2: a positive integer of at most 20 octets.
  if (v.length === 0 || v[0]! & 0x80 || (v.length === 1 && v[0] === 0)) return { reason: 'CERT_MALFORMED', detail: 'serial number is zero or negative (RFC 5280 §4.1.2.2)' };
  if (v.length > 21 || (v.length === 21 && v[0] !== 0)) return { reason: 'CERT_MALFORMED', detail: 'serial number longer than 20 octets (RFC 5280 §4.1.2.2)' };
  // §4.2.1.1, §4.2.1.2: key identifiers MUST be non-critical.
  if (e.critical.has(Oid.authorityKeyId)) return { reason: 'INVALID_EXTENSION', detail: 'authorityKeyIdentifier is marked critical (RFC 5280 §4.2.1.1)' };
  if (e.critical.has(Oid.subjectKeyId)) return { reason: 'INVALID_EXTENSION', detail: 'subjectKeyIdentifier is marked critical (RFC 5280 §4.2.1.2)' };
  // §4.2.1.10: name constraints only in CA certificates, and always critical.
  if (e.nameConstraints && !e.basicConstraints?.ca) return { reason: 'INVALID_EXTENSION', detail: 'nameConstraints in a certificate that is not a CA (RFC 5280 §4.2.1.10)' };
  if (e.nameConstraints && !e.critical.has(Oid.nameConstraints)) return { reason: 'INVALID_EXTENSION', detail: 'nameConstraints is not marked critical (RFC 5280 §4.2.1.10)' };
  // §4.2.1.6: an empty subject needs a critical subjectAltName.
  if (subject.empty && !e.sans) return { reason: 'CERT_MALFORMED', detail: 'empty subject and no subjectAltName (RFC 5280 §4.2.1.6)' };
  if (subject.empty && !e.critical.has(Oid.subjectAltName)) return { reason: 'INVALID_EXTENSION', detail: 'empty subject with a non-critical subjectAltName (RFC 5280 §4.2.1.6)' };
  return undefined;
}

export const DEFAULT_CERT_FACTS_MAX = 20_000;
/** Facts by fingerprint; bounded, least recently used first. */
export const certFactsCache = new LruMap<string, CertFacts>(DEFAULT_CERT_FACTS_MAX);

export class CertFactsError extends Error {
  override name = 'CertFactsError';
}

/** Facts of a certificate, cached by its SHA-256 fingerprint. Throws CertFactsError when the DER is not a certificate. */
export function factsOf(der: Uint8Array, fingerprint: string): CertFacts {
  const hit = certFactsCache.get(fingerprint);
  if (hit) return hit;
  let facts: CertFacts;
  try {
    facts = parse(der, fingerprint);
  } catch (e) {
    throw new CertFactsError(`the certificate could not be decoded: ${(e as Error).message}`, { cause: e });
  }
  certFactsCache.set(fingerprint, facts);
  return facts;
}

/**
 * Facts of a parsed certificate, kept with the object for as long as it lives. The fingerprint cache
 * above is bounded, so a holder of more certificates than it keeps (a broker
 * with 100,000 registered anchors, which indexes them again after every change) would decode every one
 * again on each rebuild: ~90 µs each, seconds on the event loop.
 */
const byObject = new WeakMap<object, CertFacts>();
export function factsOfCert(cert: { readonly der: Uint8Array; readonly fingerprint: string }): CertFacts {
  let f = byObject.get(cert);
  if (!f) byObject.set(cert, (f = factsOf(cert.der, cert.fingerprint)));
  return f;
}

export function hasKeyUsage(f: CertFacts, bit: number): boolean {
  return f.keyUsage === undefined || (f.keyUsage & (1 << bit)) !== 0;
}
