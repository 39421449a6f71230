// Certificate revocation lists (RFC 5280 §5): read with our own strict DER reader and checked against the
// CA they claim to come from. Not @peculiar/x509's X509Crl: with its default ASN.1 bounds it refuses a CRL
// of a few thousand entries ("Maximum ASN.1 node count exceeded"), with raised bounds it takes ~70 s for
// 100,000 entries, its verify() answers `false` whatever went wrong, and findRevoked scans every entry.
// Here a 100,000-entry CRL is read in a fraction of a second and every refusal names its reason.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { ErrorCode } from '@twoway/contracts';
import type { ParsedCert } from './certificate.js';
import { CertFactsError, factsOfCert, hasKeyUsage, KeyUsageBit, Oid, signatureAlgorithm, type Problem, type SignatureAlgorithm } from './cert-facts.js';
import { bytesEqual, children, DerCursor, DerError, expect, hex, readBitString, readBoolean, readOid, readOne, readSmallUint, readTime, Tag, type Tlv } from './der.js';
import { PkiError } from './errors.js';
import { parseName, type DistinguishedName } from './names.js';
import { containsPrivateKey } from './pem.js';
import { computeSignature } from './validate.js';

const CrlOid = {
  cRLNumber: '2.5.29.20',
  deltaCRLIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  freshestCRL: '2.5.29.46',
} as const;

/** RFC 5280 §5.3.1: removeFromCRL only occurs in delta CRLs. */
const REASON_REMOVE_FROM_CRL = 8;

/** A CRL issued this far ahead of our clock is still accepted (CA and registry clocks differ a little). */
export const CRL_CLOCK_SKEW_MS = 5 * 60_000;

/** Serial numbers longer than this many octets are not certificate serials (RFC 5280 §4.1.2.2 allows 20). */
const MAX_SERIAL_OCTETS = 32;

export interface ParsedCrl {
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprint: string;
  /** The issuer name for display, e.g. `CN=Fleet CA, O=Acme`. */
  readonly issuer: string;
  readonly thisUpdate: Date;
  /** Absent only in CRLs that do not follow RFC 5280 §5.1.2.5 (such a CRL never goes stale). */
  readonly nextUpdate: Date | undefined;
  /** cRLNumber (§5.2.3), when the CRL carries one. */
  readonly number: bigint | undefined;
  /** The revoked serial numbers, normalised (`normalizeSerial`), each once, in CRL order. */
  readonly serials: readonly string[];
  /** Entries listed (a serial listed twice counts twice; `serials` holds it once). */
  readonly entries: number;
  /** Internal to libs/pki: the issuer name and what the signature covers. */
  readonly signed: { issuerName: DistinguishedName; tbs: Uint8Array; signature: Uint8Array; sigAlg: SignatureAlgorithm | undefined; sigAlgProblem: Problem | undefined };
}

export interface ParseCrlOptions {
  /** Largest CRL accepted, in DER bytes. */
  maxBytes?: number;
}

export const DEFAULT_CRL_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A serial number as one canonical string: lowercase hex without separators or leading zeros
 * (`00:8F:0A` and `8f0a` are the same serial). undefined when it is not hex or is zero.
 */
export function normalizeSerial(s: string): string | undefined {
  const h = s.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(h)) return undefined;
  const n = h.replace(/^0+/, '');
  return n.length === 0 || n.length > MAX_SERIAL_OCTETS * 2 ? undefined : n;
}

const invalid = (message: string, cause?: unknown) => new PkiError('CRL_INVALID', message, cause === undefined ? undefined : { cause });
const unsupported = (message: string) => new PkiError('CRL_UNSUPPORTED', message);

/** The DER of a CRL sent as PEM (`X509 CRL`), as base64 of the DER, or as DER bytes. */
function crlDer(input: string | Uint8Array, maxBytes: number): Uint8Array {
  if (typeof input !== 'string' && input[0] === Tag.SEQUENCE) return input;
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  // A pasted key is refused before anything else reads the input (and its bytes go nowhere).
  if (containsPrivateKey(text)) throw new PkiError('CERT_PRIVATE_KEY_REJECTED', 'A private key was submitted; a CRL is public. The key was not stored.');
  let b64 = text.trim();
  const begin = b64.indexOf('-----BEGIN ');
  if (begin >= 0) {
    const labelEnd = b64.indexOf('-----', begin + 11);
    const label = labelEnd > 0 ? b64.slice(begin + 11, labelEnd) : '';
    // RFC 7468 §5 names it X509 CRL; @peculiar/x509 and some CAs write CRL.
    if (label !== 'X509 CRL' && label !== 'CRL') throw invalid(`the PEM block is a ${label || 'damaged block'}, not an X509 CRL`);
    const end = b64.indexOf(`-----END ${label}-----`, labelEnd);
    if (end < 0) throw invalid('the BEGIN X509 CRL line has no matching END line: the PEM is truncated');
    if (b64.indexOf('-----BEGIN ', end) >= 0) throw invalid('the input holds more than one PEM block; send one CRL');
    b64 = b64.slice(labelEnd + 5, end);
  }
  b64 = b64.replace(/\s+/g, '');
  if (b64.length === 0) throw invalid('empty input: send a CRL as PEM (-----BEGIN X509 CRL-----) or DER');
  if (b64.length > Math.ceil(maxBytes / 3) * 4 + 4) throw new PkiError('PAYLOAD_TOO_LARGE', `the CRL is larger than ${maxBytes} bytes`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw invalid('the CRL is neither DER nor valid PEM/base64: the base64 body is damaged or truncated');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function readInteger(t: Tlv, what: string): Uint8Array {
  if (t.tag !== Tag.INTEGER || t.value.length === 0) throw new DerError(`${what}: expected an INTEGER`);
  if (t.value.length > 1 && t.value[0] === 0 && !(t.value[1]! & 0x80)) throw new DerError(`${what}: non-minimal INTEGER`);
  return t.value;
}

interface CrlExtensions {
  number: bigint | undefined;
}

function readCrlExtensions(t: Tlv): CrlExtensions {
  const out: CrlExtensions = { number: undefined };
  const seen = new Set<string>();
  for (const { oid, critical, value } of extensionList(t)) {
    if (seen.has(oid)) throw invalid(`CRL extension ${oid} appears twice (RFC 5280 §5.2)`);
    seen.add(oid);
    switch (oid) {
      case CrlOid.cRLNumber: {
        const v = readInteger(readOne(value), 'cRLNumber');
        if (v[0]! & 0x80) throw invalid('cRLNumber is negative (RFC 5280 §5.2.3)');
        if (v.length > 21) throw invalid('cRLNumber is longer than 20 octets (RFC 5280 §5.2.3)');
        out.number = BigInt(`0x${hex(v)}`);
        break;
      }
      case CrlOid.deltaCRLIndicator:
        throw unsupported('this is a delta CRL (deltaCRLIndicator, RFC 5280 §5.2.4); delta CRLs are not supported: upload the complete CRL of the CA');
      case CrlOid.issuingDistributionPoint:
        checkIssuingDistributionPoint(value);
        break;
      case Oid.authorityKeyId:
      case Oid.issuerAltName:
      case CrlOid.freshestCRL:
        break;
      default:
        // RFC 5280 §5.2: a CRL with a critical extension we cannot process MUST NOT be used.
        if (critical) throw unsupported(`the CRL carries the critical extension ${oid}, which is not supported (RFC 5280 §5.2)`);
    }
  }
  return out;
}

/**
 * issuingDistributionPoint (§5.2.5): a CRL that covers only some revocation reasons, that is indirect (lists
 * certificates of other CAs) or that is about attribute certificates cannot serve as the CA's one CRL.
 * A distribution point name and the user/CA scope flags are accepted (the CRL is the CA's complete list).
 */
function checkIssuingDistributionPoint(value: Uint8Array): void {
  for (const f of children(readOne(value, Tag.SEQUENCE))) {
    const flag = () => f.value.length === 1 && f.value[0] === 0xff;
    if (f.tag === 0x83) throw unsupported('the CRL covers only some revocation reasons (issuingDistributionPoint onlySomeReasons): upload a CRL that covers every reason');
    if (f.tag === 0x84 && flag()) throw unsupported('indirect CRLs (issuingDistributionPoint indirectCRL) are not supported: upload the CRL the CA itself signs');
    if (f.tag === 0x85 && flag()) throw unsupported('the CRL is about attribute certificates (onlyContainsAttributeCerts)');
  }
}

function* extensionList(t: Tlv): Generator<{ oid: string; critical: boolean; value: Uint8Array }> {
  for (const ext of children(expect(t, Tag.SEQUENCE, 'Extensions'))) {
    const parts = children(expect(ext, Tag.SEQUENCE, 'Extension'));
    const oid = readOid(parts[0]!);
    let i = 1;
    let critical = false;
    if (parts[i]?.tag === Tag.BOOLEAN) critical = readBoolean(parts[i++]!);
    const value = expect(parts[i], Tag.OCTET_STRING, `extension ${oid} value`).value;
    if (parts.length !== i + 1) throw new DerError(`extension ${oid}: unexpected fields`);
    yield { oid, critical, value };
  }
}

/** The last bytes of the entry-extension OIDs (all under 2.5.29, `55 1d xx`). */
const ENTRY_EXT = { reasonCode: 0x15, holdInstructionCode: 0x17, invalidityDate: 0x18, certificateIssuer: 0x1d } as const;

/**
 * The revokedCertificates list (§5.1.2.6), walked with cursors: a CRL may list 100,000s of entries, and
 * one small object per element would cost more than the reading (~10× on 100,000 entries).
 */
function readEntries(revoked: Tlv, version: number): { serials: string[]; entries: number } {
  const buf = revoked.value;
  const list = new DerCursor(buf);
  const f = new DerCursor(buf);
  const ext = new DerCursor(buf);
  const part = new DerCursor(buf);
  const serials: string[] = [];
  const seen = new Set<string>();
  let entries = 0;
  while (list.next()) {
    entries++;
    if (!list.is(Tag.SEQUENCE)) throw new DerError(`entry ${entries}: expected a SEQUENCE`);
    f.reset(list.start, list.end);
    if (!f.next() || !f.is(Tag.INTEGER) || f.end === f.start) throw new DerError(`entry ${entries}: expected the serial number`);
    const [s0, s1] = [f.start, f.end];
    if (s1 - s0 > 1 && buf[s0] === 0 && !(buf[s0 + 1]! & 0x80)) throw new DerError(`entry ${entries}: non-minimal INTEGER`);
    if (!f.next() || !isTime(buf, f)) throw new DerError(`entry ${entries}: expected the revocation date (UTCTime or GeneralizedTime)`);
    let hasExts = false;
    if (f.next()) {
      if (!f.is(Tag.SEQUENCE) || f.next()) throw new DerError(`entry ${entries}: unexpected fields`);
      hasExts = true;
    }
    if (s1 - s0 > MAX_SERIAL_OCTETS + 1) throw invalid(`entry ${entries}: a serial number of ${s1 - s0} octets`);
    // A zero or negative serial cannot be a valid certificate's (§4.1.2.2; the validator refuses those
    // certificates), so it can revoke nothing.
    const serial = buf[s0]! & 0x80 ? undefined : serialHex(buf, s0, s1);
    if (hasExts) {
      if (version !== 2) throw invalid('a v1 CRL carries entry extensions (RFC 5280 §5.1.2.1: they need v2)');
      checkEntryExtensions(ext.reset(f.start, f.end), part, serial ?? '0');
    }
    if (serial === undefined || seen.has(serial)) continue;
    seen.add(serial);
    serials.push(serial);
  }
  return { serials, entries };
}

/** `normalizeSerial` of an INTEGER's content octets, without building the intermediate strings. */
function serialHex(buf: Uint8Array, from: number, to: number): string | undefined {
  let a = from;
  while (a < to && buf[a] === 0) a++;
  if (a === to) return undefined;
  const h = Buffer.from(buf.buffer, buf.byteOffset + a, to - a).toString('hex');
  return h.charCodeAt(0) === 0x30 ? h.slice(1) : h;
}

/** A UTCTime or GeneralizedTime of the RFC 5280 form (digits, then Z). */
function isTime(buf: Uint8Array, c: DerCursor): boolean {
  const n = c.end - c.start;
  if (!((c.tag === Tag.UTCTime && n === 13) || (c.tag === Tag.GeneralizedTime && n === 15)) || buf[c.end - 1] !== 0x5a) return false;
  for (let i = c.start; i < c.end - 1; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
  return true;
}

function checkEntryExtensions(ext: DerCursor, part: DerCursor, serial: string): void {
  const buf = ext.buf;
  while (ext.next()) {
    if (!ext.is(Tag.SEQUENCE)) throw new DerError(`entry ${serial}: an extension is not a SEQUENCE`);
    part.reset(ext.start, ext.end);
    if (!part.next() || !part.is(Tag.OID)) throw new DerError(`entry ${serial}: an extension without an OID`);
    const [o0, o1] = [part.start, part.end];
    const under2529 = o1 - o0 === 3 && buf[o0] === 0x55 && buf[o0 + 1] === 0x1d;
    const id = under2529 ? buf[o0 + 2] : -1;
    let critical = false;
    if (!part.next()) throw new DerError(`entry ${serial}: an extension without a value`);
    if (part.is(Tag.BOOLEAN)) {
      critical = readBoolean(part.tlv());
      if (!part.next()) throw new DerError(`entry ${serial}: an extension without a value`);
    }
    if (!part.is(Tag.OCTET_STRING)) throw new DerError(`entry ${serial}: an extension value is not an OCTET STRING`);
    const value = buf.subarray(part.start, part.end);
    if (part.next()) throw new DerError(`entry ${serial}: an extension has unexpected fields`);
    if (id === ENTRY_EXT.certificateIssuer) throw unsupported(`entry ${serial} names another certificate issuer (certificateIssuer): indirect CRLs are not supported`);
    if (id === ENTRY_EXT.reasonCode) {
      if (readSmallUint(readOne(value), Tag.ENUMERATED) === REASON_REMOVE_FROM_CRL) throw invalid(`entry ${serial} has reason removeFromCRL, which only a delta CRL may carry (RFC 5280 §5.3.1)`);
      continue;
    }
    if (critical && id !== ENTRY_EXT.invalidityDate && id !== ENTRY_EXT.holdInstructionCode) {
      throw unsupported(`entry ${serial} carries the critical extension ${readOid({ tag: Tag.OID, value: buf.subarray(o0, o1), raw: buf.subarray(o0, o1) })}, which is not supported (RFC 5280 §5.3)`);
    }
  }
}

/**
 * Reads a CRL: PEM (`-----BEGIN X509 CRL-----`), base64 of the DER, or DER bytes. Throws PkiError with
 * CRL_INVALID (not a CRL, damaged, malformed), CRL_UNSUPPORTED (delta, indirect, partitioned by reason, an
 * unknown critical extension), CERT_PRIVATE_KEY_REJECTED or PAYLOAD_TOO_LARGE, the message saying why.
 */
export function parseCrl(input: string | Uint8Array, o: ParseCrlOptions = {}): ParsedCrl {
  const maxBytes = o.maxBytes ?? DEFAULT_CRL_MAX_BYTES;
  const der = crlDer(input, maxBytes);
  if (der.length > maxBytes) throw new PkiError('PAYLOAD_TOO_LARGE', `the CRL is larger than ${maxBytes} bytes`);
  try {
    return parseDerCrl(der);
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw invalid(`the CRL could not be decoded: ${(e as Error).message}`, e);
  }
}

function parseDerCrl(der: Uint8Array): ParsedCrl {
  const [tbsT, outerAlg, sigBits, extra] = children(readOne(der, Tag.SEQUENCE));
  if (!tbsT || !outerAlg || !sigBits || extra) throw new DerError('CertificateList must have exactly three fields');
  const f = children(expect(tbsT, Tag.SEQUENCE, 'TBSCertList'));
  let i = 0;
  let version = 1;
  if (f[i]?.tag === Tag.INTEGER) {
    version = readSmallUint(f[i++]!) + 1;
    // §5.1.2.1: when present, the version MUST be v2.
    if (version !== 2) throw invalid(`CRL version ${version}; only v1 and v2 CRLs exist`);
  }
  const innerAlg = expect(f[i++], Tag.SEQUENCE, 'signature');
  const issuerT = expect(f[i++], Tag.SEQUENCE, 'issuer');
  if (!f[i]) throw new DerError('thisUpdate missing');
  const thisUpdate = readTime(f[i++]!);
  let nextUpdate: Date | undefined;
  if (f[i]?.tag === Tag.UTCTime || f[i]?.tag === Tag.GeneralizedTime) nextUpdate = readTime(f[i++]!);
  let revoked: Tlv | undefined;
  if (f[i]?.tag === Tag.SEQUENCE) revoked = f[i++];
  let extsT: Tlv | undefined;
  if (f[i]?.tag === 0xa0) extsT = readOne(f[i++]!.value);
  if (f[i]) throw new DerError('TBSCertList: unexpected trailing fields');
  if (nextUpdate && nextUpdate.getTime() < thisUpdate.getTime()) throw invalid(`nextUpdate (${nextUpdate.toISOString()}) is before thisUpdate (${thisUpdate.toISOString()})`);

  const issuerName = parseName(issuerT);
  // §5.1.2.3: the issuer field MUST contain a non-empty distinguished name.
  if (issuerName.empty) throw invalid('the CRL has an empty issuer name (RFC 5280 §5.1.2.3)');
  const exts = extsT ? readCrlExtensions(extsT) : { number: undefined };
  if (extsT && version !== 2) throw invalid('a v1 CRL carries extensions (RFC 5280 §5.1.2.1: they need v2)');

  const { serials, entries } = revoked ? readEntries(revoked, version) : { serials: [], entries: 0 };

  let { alg: sigAlg, problem: sigAlgProblem } = signatureAlgorithm(outerAlg);
  // §5.1.1.2: signatureAlgorithm MUST be the same algorithm identifier as the TBSCertList signature field.
  if (!bytesEqual(outerAlg.raw, innerAlg.raw)) throw invalid('signatureAlgorithm differs from the TBSCertList signature field (RFC 5280 §5.1.1.2)');
  const { unused, bytes: signature } = readBitString(sigBits);
  if (unused !== 0 && !sigAlgProblem) {
    sigAlg = undefined;
    sigAlgProblem = { reason: 'SIGNATURE_INVALID', detail: 'the signature BIT STRING has unused bits' };
  }
  return {
    fingerprint: createHash('sha256').update(der).digest('hex'),
    issuer: new x509.Name(issuerT.raw as Uint8Array<ArrayBuffer>).toString(),
    thisUpdate,
    nextUpdate,
    number: exts.number,
    serials,
    entries,
    signed: { issuerName, tbs: tbsT.raw, signature, sigAlg, sigAlgProblem },
  };
}

export type CrlVerdict = { ok: true } | { ok: false; code: Extract<ErrorCode, 'CERT_NOT_CA' | 'CRL_ISSUER_MISMATCH' | 'CRL_SIGNATURE_INVALID' | 'CRL_UNSUPPORTED' | 'CRL_INVALID'>; detail: string };

/**
 * Is `crl` the CRL of `ca`, usable `at` this time? RFC 5280 §6.3.3 as far as a complete CRL of one CA
 * goes: the CA is a CA (basicConstraints cA) whose keyUsage, when present, includes cRLSign (§4.2.1.3);
 * the CRL's issuer name matches the CA's subject (§7.1 comparison); its signature verifies with the CA's
 * key and is not weak; it was not issued in the future (beyond CRL_CLOCK_SKEW_MS). A CRL past its
 * nextUpdate is still the CA's CRL: whether a stale one counts is the caller's policy.
 */
export function verifyCrl(crl: ParsedCrl, ca: ParsedCert, at: Date): CrlVerdict {
  let facts;
  try {
    facts = factsOfCert(ca);
  } catch (e) {
    if (e instanceof CertFactsError) return { ok: false, code: 'CERT_NOT_CA', detail: 'the CA certificate could not be decoded' };
    throw e;
  }
  if (!facts.basicConstraints?.ca) return { ok: false, code: 'CERT_NOT_CA', detail: `'${ca.subject}' is not a CA certificate (basicConstraints cA): only a CA issues CRLs` };
  if (!hasKeyUsage(facts, KeyUsageBit.cRLSign)) return { ok: false, code: 'CRL_SIGNATURE_INVALID', detail: `the keyUsage of '${ca.subject}' does not include cRLSign: this CA may not sign CRLs (RFC 5280 §4.2.1.3)` };
  if (crl.signed.issuerName.key !== facts.subject.key) return { ok: false, code: 'CRL_ISSUER_MISMATCH', detail: `the CRL was issued by '${crl.issuer}', not by this CA ('${ca.subject}')` };
  const p = crl.signed.sigAlgProblem;
  if (p?.reason === 'WEAK_SIGNATURE_ALGORITHM' || p?.reason === 'UNSUPPORTED_ALGORITHM') return { ok: false, code: 'CRL_UNSUPPORTED', detail: `the CRL's signature: ${p.detail}` };
  const sig = computeSignature(crl.signed, facts);
  if (sig) return { ok: false, code: 'CRL_SIGNATURE_INVALID', detail: `the CRL is not signed by the key of '${ca.subject}' (${sig.detail}): it was signed by another key, or damaged` };
  if (crl.thisUpdate.getTime() > at.getTime() + CRL_CLOCK_SKEW_MS) return { ok: false, code: 'CRL_INVALID', detail: `the CRL's thisUpdate (${crl.thisUpdate.toISOString()}) is in the future` };
  return { ok: true };
}

/** Past its nextUpdate: a newer CRL should exist (RFC 5280 §5.1.2.5). A CRL without nextUpdate never is. */
export const crlIsStale = (nextUpdate: Date | undefined | null, at: Date): boolean => !!nextUpdate && nextUpdate.getTime() < at.getTime();
