// Issuing: roots, intermediates, device (clientAuth) and server (serverAuth) certificates, so that an
// operator never needs openssl recipes. Keys are generated with Node's WebCrypto and written as PKCS#8.
import 'reflect-metadata';
import { webcrypto, randomBytes, createPrivateKey, createPublicKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { parseDer, parsePemCertificates, type ParsedCert } from './certificate.js';
import { toPem } from './pem.js';
import { PkiError } from './errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const subtle = webcrypto.subtle;

export const KeyAlgorithms = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyAlgorithm = (typeof KeyAlgorithms)[number];

/** A certificate and key that can sign; a cert/key file pair on disk is enough. */
export interface Issuer {
  certPem: string;
  /** PKCS#8 (`BEGIN PRIVATE KEY`); SEC1 `EC PRIVATE KEY` and PKCS#1 `RSA PRIVATE KEY` are accepted too. */
  keyPem: string;
  /** The issuer's certificate followed by its own issuers (roots are dropped when copied into a chain). */
  chainPem?: string;
}

export interface Issued {
  cert: ParsedCert;
  certPem: string;
  /** PKCS#8 PEM. Write it with mode 0600; never log it. */
  keyPem: string;
  /** This certificate followed by its issuers up to, excluding, the root (a root's chain is itself). */
  chainPem: string;
}

export interface CreateRootCaOptions {
  commonName: string;
  keyAlgorithm?: KeyAlgorithm;
  days?: number;
  pathLen?: number;
  notBefore?: Date;
}

export interface IssueIntermediateOptions {
  issuer: Issuer;
  commonName: string;
  pathLen?: number;
  days?: number;
  keyAlgorithm?: KeyAlgorithm;
  notBefore?: Date;
  /**
   * Certify this existing key (PEM private key) instead of a new one: a renewed copy of a CA, or the same
   * CA cross-signed by another issuer. Same subject and key: the copies verify the same certificates.
   */
  keyPem?: string;
}

export interface IssueDeviceOptions {
  issuer: Issuer;
  commonName: string;
  /** `dns:x`, `ip:x`, `uri:x`, `email:x`, or bare (an IP address or a DNS name). */
  sans?: string[];
  days?: number;
  keyAlgorithm?: KeyAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssueServerOptions {
  issuer: Issuer;
  commonName: string;
  sans: string[];
  days?: number;
  keyAlgorithm?: KeyAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
}

const DAY_MS = 86_400_000;
/** Backdate notBefore a little so a device whose clock runs slightly behind accepts a fresh certificate. */
const BACKDATE_MS = 5 * 60_000;
export const DEFAULT_DAYS = { root: 3650, intermediate: 1825, device: 365, server: 365 } as const;

interface KeySpec {
  gen: RsaHashedKeyGenParams | EcKeyGenParams;
  sign: Algorithm | EcdsaParams;
}

function keySpec(alg: KeyAlgorithm): KeySpec {
  switch (alg) {
    case 'ec-p256':
      return { gen: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams };
    case 'ec-p384':
      return { gen: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams };
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096': {
      const bits = Number(alg.slice(4));
      return {
        gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        sign: { name: 'RSASSA-PKCS1-v1_5' },
      };
    }
    default:
      throw new PkiError('BAD_REQUEST', `unknown key algorithm '${String(alg)}': use one of ${KeyAlgorithms.join(', ')}`);
  }
}

async function generateKeys(alg: KeyAlgorithm): Promise<{ keys: CryptoKeyPair; keyPem: string; sign: Algorithm }> {
  const spec = keySpec(alg);
  const keys = (await subtle.generateKey(spec.gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  return { keys, keyPem: toPem(pkcs8, 'PRIVATE KEY'), sign: spec.sign };
}

interface LoadedIssuer {
  cert: ParsedCert;
  signingKey: CryptoKey;
  sign: Algorithm;
  /** Issuers above this one, excluding roots, PEM concatenated (possibly empty). */
  chainAbove: string;
}

const loaded = new WeakMap<Issuer, { certPem: string; keyPem: string; chainPem?: string; value: Promise<LoadedIssuer> }>();

/** loadIssuer once per Issuer object (bulk issuance signs thousands of certificates with one issuer). */
function loadIssuer(issuer: Issuer): Promise<LoadedIssuer> {
  const hit = loaded.get(issuer);
  if (hit && hit.certPem === issuer.certPem && hit.keyPem === issuer.keyPem && hit.chainPem === issuer.chainPem) return hit.value;
  const value = readIssuer(issuer);
  loaded.set(issuer, { certPem: issuer.certPem, keyPem: issuer.keyPem, chainPem: issuer.chainPem, value });
  value.catch(() => loaded.delete(issuer));
  return value;
}

/** Imports an issuer's key for signing. Node parses PKCS#8, SEC1 and PKCS#1; WebCrypto then gets PKCS#8. */
async function readIssuer(issuer: Issuer): Promise<LoadedIssuer> {
  const certs = parsePemCertificates(issuer.certPem);
  const cert = certs[0]!;
  if (!cert.isCa) throw new PkiError('CERT_INVALID', `the issuer certificate '${cert.commonName ?? cert.subject}' is not a CA (basicConstraints CA:TRUE missing): pass a CA directory`);
  let key;
  try {
    key = createPrivateKey({ key: issuer.keyPem, format: 'pem' });
  } catch (e) {
    throw new PkiError('CERT_PEM_INVALID', 'the issuer key could not be read: expected an unencrypted PEM private key', { cause: e });
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  let importAlg: RsaHashedImportParams | EcKeyImportParams;
  let sign: Algorithm;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!named) throw new PkiError('CERT_PEM_INVALID', `the issuer key uses curve ${curve}: use P-256, P-384 or P-521`);
    importAlg = { name: 'ECDSA', namedCurve: named };
    sign = { name: 'ECDSA', hash: named === 'P-256' ? 'SHA-256' : named === 'P-384' ? 'SHA-384' : 'SHA-512' } as EcdsaParams;
  } else if (key.asymmetricKeyType === 'rsa') {
    importAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    sign = { name: 'RSASSA-PKCS1-v1_5' };
  } else {
    throw new PkiError('CERT_PEM_INVALID', `the issuer key type ${key.asymmetricKeyType} is not supported for issuing: use EC or RSA`);
  }
  const signingKey = await subtle.importKey('pkcs8', pkcs8, importAlg, false, ['sign']);
  const above = issuer.chainPem ? parsePemCertificates(issuer.chainPem).filter((c) => c.fingerprint !== cert.fingerprint) : certs.slice(1);
  const chainAbove = above.filter((c) => !c.selfIssued).map((c) => c.pem).join('');
  return { cert, signingKey, sign, chainAbove };
}

/** 16 random bytes, high bit clear (positive INTEGER, RFC 5280 §4.1.2.2) and no leading zero byte. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

function parseSans(sans: readonly string[]): x509.JsonGeneralNames {
  return sans.map((s) => {
    const m = /^(dns|ip|uri|url|email):(.*)$/i.exec(s);
    if (m) {
      const t = m[1]!.toLowerCase();
      const value = m[2]!;
      if (!value) throw new PkiError('BAD_REQUEST', `empty subject alternative name '${s}'`);
      return { type: t === 'uri' ? 'url' : (t as 'dns' | 'ip' | 'email' | 'url'), value };
    }
    if (/^[0-9.]+$/.test(s) || s.includes(':')) return { type: 'ip', value: s };
    return { type: 'dns', value: s };
  });
}

function validity(notBefore: Date | undefined, notAfter: Date | undefined, days: number): { notBefore: Date; notAfter: Date } {
  const nb = notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const na = notAfter ?? new Date(nb.getTime() + days * DAY_MS);
  if (!(na.getTime() > nb.getTime())) throw new PkiError('BAD_REQUEST', 'notAfter must be later than notBefore: check --days');
  return { notBefore: nb, notAfter: na };
}

function checkCn(cn: string): void {
  // Control characters in a CN end up in logs and MQTT identities (docs/design.md §4): refuse them here.
  if (!cn || /[\u0000-\u001f\u007f]/.test(cn)) throw new PkiError('BAD_REQUEST', 'the common name must be non-empty and free of control characters');
}

function dnOf(cn: string): x509.JsonName {
  return [{ CN: [cn] }];
}

async function build(
  subject: x509.JsonName,
  issuerName: x509.Name | x509.JsonName,
  publicKey: CryptoKey,
  signingKey: CryptoKey,
  sign: Algorithm,
  dates: { notBefore: Date; notAfter: Date },
  extensions: x509.Extension[],
  authorityKeyId: string | undefined,
): Promise<x509.X509Certificate> {
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  const exts = [...extensions, ski];
  exts.push(new x509.AuthorityKeyIdentifierExtension(authorityKeyId ?? ski.keyId));
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: issuerName,
    notBefore: dates.notBefore,
    notAfter: dates.notAfter,
    publicKey,
    signingKey,
    signingAlgorithm: sign,
    extensions: exts,
  });
}

function skiOf(c: ParsedCert): string | undefined {
  return c.x.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
}

function issued(c: x509.X509Certificate, keyPem: string, chainAbove: string): Issued {
  const cert = parseDer(new Uint8Array(c.rawData));
  return { cert, certPem: cert.pem, keyPem, chainPem: cert.pem + chainAbove };
}

export async function createRootCa(o: CreateRootCaOptions): Promise<Issued> {
  checkCn(o.commonName);
  const { keys, keyPem, sign } = await generateKeys(o.keyAlgorithm ?? 'ec-p256');
  const dates = validity(o.notBefore, undefined, o.days ?? DEFAULT_DAYS.root);
  const name = dnOf(o.commonName);
  const c = await build(name, name, keys.publicKey, keys.privateKey, sign, dates, [
    new x509.BasicConstraintsExtension(true, o.pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ], undefined);
  return issued(c, keyPem, '');
}

/** The public half of an existing key, as WebCrypto wants it, and the key as PKCS#8 PEM. */
async function existingKey(pem: string): Promise<{ keys: { publicKey: CryptoKey }; keyPem: string }> {
  let key;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new PkiError('CERT_PEM_INVALID', 'the key to certify could not be read: expected an unencrypted PEM private key', { cause: e });
  }
  let alg: RsaHashedImportParams | EcKeyImportParams;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!named) throw new PkiError('CERT_PEM_INVALID', `the key to certify uses curve ${curve}: use P-256, P-384 or P-521`);
    alg = { name: 'ECDSA', namedCurve: named };
  } else if (key.asymmetricKeyType === 'rsa') {
    alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  } else {
    throw new PkiError('CERT_PEM_INVALID', `the key type ${key.asymmetricKeyType} is not supported for issuing: use EC or RSA`);
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const publicKey = await subtle.importKey('spki', spki, alg, true, ['verify']);
  return { keys: { publicKey }, keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

export async function issueIntermediateCa(o: IssueIntermediateOptions): Promise<Issued> {
  checkCn(o.commonName);
  const iss = await loadIssuer(o.issuer);
  const { keys, keyPem } = o.keyPem ? await existingKey(o.keyPem) : await generateKeys(o.keyAlgorithm ?? 'ec-p256');
  const dates = validity(o.notBefore, undefined, o.days ?? DEFAULT_DAYS.intermediate);
  const c = await build(dnOf(o.commonName), iss.cert.x.subjectName, keys.publicKey, iss.signingKey, iss.sign, dates, [
    new x509.BasicConstraintsExtension(true, o.pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ], skiOf(iss.cert));
  return issued(c, keyPem, (iss.cert.selfIssued ? '' : iss.cert.pem) + iss.chainAbove);
}

async function issueEndEntity(
  o: IssueDeviceOptions,
  eku: x509.ExtendedKeyUsage,
  defaultDays: number,
): Promise<Issued> {
  checkCn(o.commonName);
  const iss = await loadIssuer(o.issuer);
  const alg = o.keyAlgorithm ?? 'ec-p256';
  const { keys, keyPem } = await generateKeys(alg);
  const dates = validity(o.notBefore, o.notAfter, o.days ?? defaultDays);
  let usages = x509.KeyUsageFlags.digitalSignature;
  // RSA key exchange (TLS 1.2 non-ECDHE) needs keyEncipherment on a server key; harmless for a client.
  if (alg.startsWith('rsa')) usages |= x509.KeyUsageFlags.keyEncipherment;
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension([eku], false),
  ];
  if (o.sans?.length) exts.push(new x509.SubjectAlternativeNameExtension(parseSans(o.sans), false));
  const c = await build(dnOf(o.commonName), iss.cert.x.subjectName, keys.publicKey, iss.signingKey, iss.sign, dates, exts, skiOf(iss.cert));
  return issued(c, keyPem, (iss.cert.selfIssued ? '' : iss.cert.pem) + iss.chainAbove);
}

/** A device (client) certificate: CA:FALSE, keyUsage digitalSignature, EKU clientAuth. */
export function issueDeviceCert(o: IssueDeviceOptions): Promise<Issued> {
  return issueEndEntity(o, x509.ExtendedKeyUsage.clientAuth, DEFAULT_DAYS.device);
}

/** A TLS server certificate: CA:FALSE, keyUsage digitalSignature, EKU serverAuth, SANs (e.g. dns:localhost, ip:127.0.0.1). */
export function issueServerCert(o: IssueServerOptions): Promise<Issued> {
  return issueEndEntity(o, x509.ExtendedKeyUsage.serverAuth, DEFAULT_DAYS.server);
}
