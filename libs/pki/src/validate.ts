// The one chain validator (broker connects, upload checks, `twoway pki verify`): builds candidate paths
// from the certificates a peer sent to a registered anchor, then applies RFC 5280 §6.1 path validation to
// each, with the stricter rules of docs/design.md §1. @peculiar/x509 only parses; every decision is here.
import { constants, createHash, verify as nodeVerify } from 'node:crypto';
import { ChainReasons, type ChainReason } from '@twoway/contracts';
import { LruMap } from '@twoway/lru';
import type { ParsedCert } from './certificate.js';
import { CertFactsError, factsOfCert, hasKeyUsage, KeyUsageBit, Oid, type CertFacts, type Problem } from './cert-facts.js';
import { NameConstraintState } from './names.js';

export type Purpose = 'client' | 'server' | 'any';

export interface ValidateChainInput {
  /** The end-entity certificate to validate. */
  leaf: ParsedCert;
  /** What the peer sent besides the leaf, in any order; extra and duplicate certificates are tolerated. */
  untrusted: readonly ParsedCert[];
  /** Trust anchors: roots, intermediates (a path may end there) or pinned leaves; an AnchorSet for large sets. */
  anchors: readonly ParsedCert[] | AnchorSet;
  /** Validation time; validity periods are inclusive at one-second resolution (RFC 5280 §4.1.2.5). */
  at: Date;
  purpose: Purpose;
  /** Complete candidate paths evaluated before giving up (default 32). */
  maxPaths?: number;
  /** Certificates on a path, leaf and anchor included (default 16). */
  maxDepth?: number;
  /**
   * A further test of a path that passed validation, leaf first (the broker: nothing on it is suspended or
   * revoked). A path it refuses is set aside and the search goes on, so any valid path it accepts wins.
   */
  acceptPath?: (path: readonly ParsedCert[]) => boolean;
}

export interface ValidationResult {
  valid: boolean;
  reason: ChainReason;
  /** Human-readable cause, safe to log (no key material, certificate fields escaped by the caller). */
  detail?: string;
  /** The validated path, leaf first, anchor last; on failure the best candidate path (possibly just the leaf). */
  path: ParsedCert[];
  /** On failure: the first path that was valid but refused by `acceptPath` (no path was both). */
  setAside?: ParsedCert[];
}

export const DEFAULT_MAX_PATHS = 32;
export const DEFAULT_MAX_DEPTH = 16;
/** Issuer candidates examined (each may cost a signature check) before the search stops. */
const MAX_EDGES = 512;

interface Node {
  cert: ParsedCert;
  facts: CertFacts;
  anchor: boolean;
}

interface Failure extends Problem {
  path: ParsedCert[];
}

// ---- signatures --------------------------------------------------------------------------------

export const DEFAULT_SIGNATURES_MAX = 50_000;
/** Signature checks by (child, issuer) fingerprints; bounded, least recently used first. */
export const signatureResults = new LruMap<string, Problem | null>(DEFAULT_SIGNATURES_MAX);

function keyFits(alg: NonNullable<CertFacts['sigAlg']>, issuer: CertFacts): boolean {
  switch (alg.family) {
    case 'rsa':
      return issuer.keyFamily === 'rsa';
    case 'rsa-pss':
      return issuer.keyFamily === 'rsa' || issuer.keyFamily === 'rsa-pss';
    case 'ecdsa':
      return issuer.keyFamily === 'ec';
    case 'eddsa':
      return issuer.keyFamily === 'ed25519' || issuer.keyFamily === 'ed448';
  }
}

/** Does `issuer`'s key verify `child`'s signature? Cached by the two fingerprints (both SHA-256 of DER). */
function checkSignature(child: CertFacts, issuer: CertFacts): Problem | null {
  const id = child.fingerprint + issuer.fingerprint;
  const hit = signatureResults.get(id);
  if (hit !== undefined) return hit;
  const result = computeSignature(child, issuer);
  signatureResults.set(id, result);
  return result;
}

/** What a signature covers, as read from a certificate or a CRL (RFC 5280 §4.1.1, §5.1.1). */
export type SignedData = Pick<CertFacts, 'tbs' | 'signature' | 'sigAlg' | 'sigAlgProblem'>;

/** Does `issuer`'s key verify the signature over `child`'s TBS? A Problem says why not. */
export function computeSignature(child: SignedData, issuer: CertFacts): Problem | null {
  if (child.sigAlgProblem) return child.sigAlgProblem;
  const alg = child.sigAlg!;
  if (!issuer.key) return issuer.keyProblem ?? { reason: 'UNSUPPORTED_ALGORITHM', detail: 'issuer key unreadable' };
  if (!keyFits(alg, issuer)) return { reason: 'SIGNATURE_INVALID', detail: `a ${alg.family} signature cannot come from the issuer's ${issuer.keyFamily} key` };
  let ok = false;
  try {
    if (alg.family === 'rsa-pss') {
      ok = nodeVerify(alg.hash, child.tbs, { key: issuer.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.pssSaltLength! }, child.signature);
    } else {
      ok = nodeVerify(alg.hash, child.tbs, issuer.key, child.signature);
    }
  } catch {
    ok = false;
  }
  return ok ? null : { reason: 'SIGNATURE_INVALID', detail: "the signature does not verify with the issuer's key" };
}

// ---- path checks (RFC 5280 §6.1.3, §6.1.4, §6.1.5) ----------------------------------------------

const second = (d: Date): number => Math.floor(d.getTime() / 1000);

function describe(n: Node, role: string): string {
  return `${role} '${n.cert.commonName ?? n.cert.subject}'`;
}

/** Checks one complete path, given anchor first. undefined when valid. */
function checkPath(chain: readonly Node[], at: Date, purpose: Purpose): Problem | undefined {
  const n = chain.length;
  const atSec = second(at);
  let maxPathLength = Number.POSITIVE_INFINITY;
  const nc = new NameConstraintState();
  for (let k = 0; k < n; k++) {
    const node = chain[k]!;
    const f = node.facts;
    const isLeaf = k === n - 1;
    const role = isLeaf ? 'leaf' : k === 0 ? 'anchor' : 'intermediate';
    const who = describe(node, role);
    // The anchor is checked like any other certificate except its own signature: registration is what
    // trusts it. Its dates, constraints and key still apply (an expired or weak root admits nobody).
    if (f.structureProblem) return { reason: f.structureProblem.reason, detail: `${who}: ${f.structureProblem.detail}` };
    if (f.unknownCritical) return { reason: 'UNKNOWN_CRITICAL_EXTENSION', detail: `${who} has the unknown critical extension ${f.unknownCritical} (RFC 5280 §4.2)` };
    if (f.keyProblem) return { reason: f.keyProblem.reason, detail: `${who}: ${f.keyProblem.detail}` };
    if (atSec < second(node.cert.notBefore)) return { reason: 'CERT_NOT_YET_VALID', detail: `${who} is valid from ${node.cert.notBefore.toISOString()}` };
    if (atSec > second(node.cert.notAfter)) return { reason: 'CERT_EXPIRED', detail: `${who} expired at ${node.cert.notAfter.toISOString()}` };
    // §6.1.3 (b)(c): names of every certificate but self-issued intermediates are checked.
    if (k > 0 && (isLeaf || !f.selfIssued)) {
      const why = nc.check({ subject: f.subject, sans: f.sans });
      if (why) return { reason: 'NAME_CONSTRAINTS_VIOLATED', detail: `${who}: ${why}` };
    }
    if (!isLeaf) {
      // §6.1.4 (k): the issuer of the next certificate must be a CA (basicConstraints cA TRUE).
      if (!f.basicConstraints?.ca) return { reason: 'ISSUER_NOT_CA', detail: `${who} issues a certificate but is not a CA (basicConstraints cA:TRUE ${f.basicConstraints ? 'not set' : 'missing'})` };
      // §6.1.4 (n): a keyUsage extension on an issuer must assert keyCertSign.
      if (!hasKeyUsage(f, KeyUsageBit.keyCertSign)) return { reason: 'KEY_USAGE_INVALID', detail: `${who} has keyUsage without keyCertSign` };
      // §6.1.4 (l)(m): each non-self-issued CA consumes one step of the remaining path length.
      if (!f.selfIssued) {
        if (maxPathLength <= 0) return { reason: 'PATH_LEN_EXCEEDED', detail: `${who} is beyond the pathLenConstraint of a CA above it` };
        maxPathLength--;
      }
      // Not RFC 5280: a CA's extendedKeyUsage constrains what it may vouch for, as OpenSSL, Go, NSS and
      // Windows enforce (docs/conformance.md, "extendedKeyUsage on CA certificates").
      const ca = caPurposeProblem(f, purpose);
      if (ca) return { reason: ca.reason, detail: `${who}: ${ca.detail}` };
      const pl = f.basicConstraints.pathLen;
      if (pl !== undefined && pl < maxPathLength) maxPathLength = pl;
      if (f.nameConstraints) nc.add(f.nameConstraints);
    } else {
      // §4.2.1.9: "If the keyCertSign bit is asserted, then the cA bit in the basic constraints extension
      // MUST also be asserted." (On an issuer the same defect is reported as ISSUER_NOT_CA above.)
      if (f.keyUsage !== undefined && f.keyUsage & (1 << KeyUsageBit.keyCertSign) && !f.basicConstraints?.ca) {
        return { reason: 'KEY_USAGE_INVALID', detail: `${who}: keyUsage keyCertSign without basicConstraints cA:TRUE` };
      }
      const p = purposeProblem(f, purpose);
      if (p) return { reason: p.reason, detail: `${who}: ${p.detail}` };
    }
  }
  return undefined;
}

/**
 * The leaf's usage (RFC 5280 §4.2.1.3, §4.2.1.12). anyExtendedKeyUsage does not satisfy clientAuth or
 * serverAuth: a device certificate must name its purpose (as OpenSSL and webpki also decide).
 */
function purposeProblem(f: CertFacts, purpose: Purpose): Problem | undefined {
  if (purpose === 'any') return undefined;
  if (purpose === 'client') {
    if (f.eku && !f.eku.includes(Oid.ekuClientAuth)) return { reason: 'EKU_CLIENT_AUTH_MISSING', detail: 'extendedKeyUsage does not include clientAuth' };
    if (!hasKeyUsage(f, KeyUsageBit.digitalSignature)) return { reason: 'KEY_USAGE_INVALID', detail: 'keyUsage does not include digitalSignature' };
    return undefined;
  }
  if (f.eku && !f.eku.includes(Oid.ekuServerAuth)) return { reason: 'EKU_SERVER_AUTH_MISSING', detail: 'extendedKeyUsage does not include serverAuth' };
  if (f.keyUsage !== undefined && !(hasKeyUsage(f, KeyUsageBit.digitalSignature) || hasKeyUsage(f, KeyUsageBit.keyEncipherment) || hasKeyUsage(f, KeyUsageBit.keyAgreement))) {
    return { reason: 'KEY_USAGE_INVALID', detail: 'keyUsage allows neither digitalSignature, keyEncipherment nor keyAgreement' };
  }
  return undefined;
}

/**
 * A CA certificate (anchor or intermediate) with an extendedKeyUsage extension vouches only for the
 * purposes it lists; anyExtendedKeyUsage there means "not restricted". No extension: no restriction.
 */
function caPurposeProblem(f: CertFacts, purpose: Purpose): Problem | undefined {
  if (purpose === 'any' || !f.eku || f.eku.includes(Oid.ekuAny)) return undefined;
  if (purpose === 'client') {
    if (!f.eku.includes(Oid.ekuClientAuth)) return { reason: 'CA_EKU_CLIENT_AUTH_MISSING', detail: 'its extendedKeyUsage lists neither clientAuth nor anyExtendedKeyUsage, so it cannot vouch for a client certificate' };
    return undefined;
  }
  if (!f.eku.includes(Oid.ekuServerAuth)) return { reason: 'CA_EKU_SERVER_AUTH_MISSING', detail: 'its extendedKeyUsage lists neither serverAuth nor anyExtendedKeyUsage, so it cannot vouch for a server certificate' };
  return undefined;
}

// ---- path building ----------------------------------------------------------------------------

/** When no path reached an anchor, the most telling failure met while building, most specific first. */
const EDGE_PRIORITY: readonly ChainReason[] = [
  'WEAK_SIGNATURE_ALGORITHM',
  'CERT_MALFORMED',
  'UNSUPPORTED_ALGORITHM',
  'SIGNATURE_INVALID',
  'CHAIN_TOO_LONG',
  'CHAIN_LOOP',
];

function toNode(cert: ParsedCert, anchor: boolean): Node | undefined {
  try {
    return { cert, facts: factsOfCert(cert), anchor };
  } catch (e) {
    if (e instanceof CertFactsError) return undefined;
    throw e;
  }
}

/** Identity of the CA a certificate speaks for: its subject name (canonical form) and SubjectPublicKeyInfo. */
function identityOfFacts(f: CertFacts): string {
  return `${f.subject.key}\n${createHash('sha256').update(f.spkiDer).digest('hex')}`;
}

/**
 * Two certificates with the same subject and SubjectPublicKeyInfo (a renewed or cross-signed copy) verify
 * exactly the same children, so they stand for one CA. undefined when the certificate cannot be decoded.
 */
export function caIdentityOf(cert: ParsedCert): string | undefined {
  // Kept with the object: the broker asks it for every CA of every path it checks for revocation.
  if (identities.has(cert)) return identities.get(cert);
  let id: string | undefined;
  try {
    id = identityOfFacts(factsOfCert(cert));
  } catch (e) {
    if (!(e instanceof CertFactsError)) throw e;
  }
  identities.set(cert, id);
  return id;
}
const identities = new WeakMap<ParsedCert, string | undefined>();

/**
 * Registered trust anchors indexed by subject name (and by CA identity: subject and key), for callers that
 * validate many chains against the same large set (the broker): build once, update with add/delete, pass as
 * `anchors`. Several certificates may share a subject. Certificates that cannot be decoded are not added
 * (add returns false).
 */
export class AnchorSet {
  private readonly byName = new Map<string, Node[]>();
  private readonly byFingerprint = new Map<string, Node>();
  /**
   * Anchors known by fingerprint alone (`pin`): registered device leaves, which anchor only themselves.
   * The presented certificate is the registered one when the fingerprints match, so nothing of it needs
   * parsing ahead of time, and a leaf (not a CA) is never looked up as an issuer.
   */
  private readonly pinned = new Set<string>();
  /** Built on the first sameCa call (most sets are never asked), then kept up to date by add/delete. */
  private byIdentity: Map<string, Node[]> | undefined;

  constructor(anchors: Iterable<ParsedCert> = []) {
    for (const a of anchors) this.add(a);
  }

  add(cert: ParsedCert): boolean {
    if (this.byFingerprint.has(cert.fingerprint)) return true;
    const node = toNode(cert, true);
    if (!node) return false;
    this.pinned.delete(cert.fingerprint);
    this.byFingerprint.set(cert.fingerprint, node);
    push(this.byName, node.facts.subject.key, node);
    if (this.byIdentity) push(this.byIdentity, identityOfFacts(node.facts), node);
    return true;
  }

  /** An anchor by fingerprint alone (a registered leaf); `add` of the parsed certificate replaces it. */
  pin(fingerprint: string): void {
    if (!this.byFingerprint.has(fingerprint)) this.pinned.add(fingerprint);
  }

  delete(fingerprint: string): boolean {
    if (this.pinned.delete(fingerprint)) return true;
    const node = this.byFingerprint.get(fingerprint);
    if (!node) return false;
    this.byFingerprint.delete(fingerprint);
    remove(this.byName, node.facts.subject.key, node);
    if (this.byIdentity) remove(this.byIdentity, identityOfFacts(node.facts), node);
    return true;
  }

  has(fingerprint: string): boolean {
    return this.byFingerprint.has(fingerprint) || this.pinned.has(fingerprint);
  }

  get size(): number {
    return this.byFingerprint.size + this.pinned.size;
  }

  /**
   * Registered certificates of the same CA as `cert` (same subject and SubjectPublicKeyInfo), `cert` itself
   * included when registered: a status given to one copy of a CA applies to every copy.
   */
  sameCa(cert: ParsedCert): readonly ParsedCert[] {
    if (!this.byIdentity) {
      this.byIdentity = new Map();
      for (const n of this.byFingerprint.values()) push(this.byIdentity, identityOfFacts(n.facts), n);
    }
    const id = caIdentityOf(cert);
    const nodes = id === undefined ? undefined : this.byIdentity.get(id);
    return nodes ? nodes.map((n) => n.cert) : [];
  }

  /** Anchors whose subject has this canonical name (internal to the validator). */
  bySubject(nameKey: string): readonly Node[] | undefined {
    return this.byName.get(nameKey);
  }
}

function push(m: Map<string, Node[]>, key: string, node: Node): void {
  const list = m.get(key);
  if (list) list.push(node);
  else m.set(key, [node]);
}

function remove(m: Map<string, Node[]>, key: string, node: Node): void {
  const rest = (m.get(key) ?? []).filter((n) => n !== node);
  if (rest.length) m.set(key, rest);
  else m.delete(key);
}

/** Validates synchronously; see validateChain. */
export function validateChainSync(input: ValidateChainInput): ValidationResult {
  const { at, purpose } = input;
  const maxPaths = input.maxPaths ?? DEFAULT_MAX_PATHS;
  const maxDepth = input.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!input.leaf) return { valid: false, reason: ChainReasons.CHAIN_EMPTY, detail: 'no certificate was presented', path: [] };
  if (Number.isNaN(at.getTime())) throw new RangeError('validateChain: `at` is not a valid date');

  const anchors = input.anchors instanceof AnchorSet ? input.anchors : new AnchorSet(input.anchors);
  let leaf: Node;
  try {
    leaf = { cert: input.leaf, facts: factsOfCert(input.leaf), anchor: anchors.has(input.leaf.fingerprint) };
  } catch (e) {
    if (!(e instanceof CertFactsError)) throw e;
    return { valid: false, reason: ChainReasons.CERT_MALFORMED, detail: `leaf: ${e.message}`, path: [input.leaf] };
  }
  // A defect of the leaf itself fails every path; say so rather than "untrusted".
  if (leaf.facts.structureProblem && !leaf.anchor) return { valid: false, reason: leaf.facts.structureProblem.reason, detail: `leaf: ${leaf.facts.structureProblem.detail}`, path: [input.leaf] };
  if (anchors.size === 0) return { valid: false, reason: ChainReasons.CHAIN_UNTRUSTED, detail: 'no trust anchor is registered', path: [input.leaf] };

  // Index what the peer sent by subject name; a copy of an anchor counts as the anchor. Undecodable
  // extras are skipped: leaving a certificate out can never admit a chain.
  const sent = new Map<string, Node[]>();
  const seen = new Set<string>([leaf.cert.fingerprint]);
  for (const c of input.untrusted) {
    if (seen.has(c.fingerprint) || anchors.has(c.fingerprint)) continue;
    seen.add(c.fingerprint);
    const node = toNode(c, false);
    if (!node) continue;
    const list = sent.get(node.facts.subject.key);
    if (list) list.push(node);
    else sent.set(node.facts.subject.key, [node]);
  }
  const issuersOf = (name: string): readonly Node[] | undefined => {
    const a = anchors.bySubject(name);
    const u = sent.get(name);
    return a && u ? [...a, ...u] : (a ?? u);
  };

  const atSec = second(at);
  const rank = (child: CertFacts, c: Node): number =>
    (c.anchor ? 0 : 4) +
    (child.akiKeyId !== undefined && c.facts.ski !== undefined && child.akiKeyId !== c.facts.ski ? 2 : 0) +
    (atSec < second(c.cert.notBefore) || atSec > second(c.cert.notAfter) ? 1 : 0);

  let pathsTried = 0;
  let edges = 0;
  let exhausted = false;
  let firstFailure: Failure | undefined;
  let setAside: ParsedCert[] | undefined;
  let untrustedDetail: string | undefined;
  const edgeFailures = new Map<ChainReason, Failure>();
  const stack: Node[] = [leaf];

  const noteEdge = (reason: ChainReason, detail: string): void => {
    if (!edgeFailures.has(reason)) edgeFailures.set(reason, { reason, detail, path: stack.map((s) => s.cert) });
  };

  const search = (): ValidationResult | undefined => {
    const cur = stack[stack.length - 1]!;
    if (cur.anchor) {
      pathsTried++;
      const chain = [...stack].reverse();
      const problem = checkPath(chain, at, purpose);
      const path = stack.map((s) => s.cert);
      if (!problem) {
        if (!input.acceptPath || input.acceptPath(path)) return { valid: true, reason: ChainReasons.OK, path };
        setAside ??= path;
      } else firstFailure ??= { ...problem, path };
      if (pathsTried >= maxPaths) exhausted = true;
      // RFC 5280 §6.1 ends at the anchor: a path is not extended beyond one.
      return undefined;
    }
    if (stack.length >= maxDepth) {
      noteEdge('CHAIN_TOO_LONG', `no anchor within ${maxDepth} certificates`);
      return undefined;
    }
    const candidates = issuersOf(cur.facts.issuer.key);
    if (!candidates) return undefined;
    const ordered = candidates.length > 1 ? [...candidates].sort((a, b) => rank(cur.facts, a) - rank(cur.facts, b)) : candidates;
    let badSignature: Problem | undefined;
    let someVerified = false;
    for (const cand of ordered) {
      if (exhausted) return undefined;
      if (cand.cert.fingerprint === cur.cert.fingerprint) {
        // A self-signed certificate that is not an anchor: the end of this road, not a loop.
        untrustedDetail ??= `the chain ends at the self-signed '${cur.cert.subject}', which is not a registered anchor`;
        continue;
      }
      if (stack.some((n) => n.cert.fingerprint === cand.cert.fingerprint)) {
        noteEdge('CHAIN_LOOP', `${describe(cand, 'certificate')} appears twice on a candidate path`);
        continue;
      }
      if (++edges > MAX_EDGES) {
        exhausted = true;
        noteEdge('CHAIN_TOO_LONG', `path building stopped after ${MAX_EDGES} candidate issuers`);
        return undefined;
      }
      const sig = checkSignature(cur.facts, cand.facts);
      if (sig) {
        if (sig.reason === 'SIGNATURE_INVALID') badSignature ??= sig;
        else noteEdge(sig.reason, `${describe(cur, 'certificate')}: ${sig.detail}`);
        continue;
      }
      someVerified = true;
      stack.push(cand);
      const r = search();
      stack.pop();
      if (r) return r;
    }
    // Several certificates may share a name (key rollover): a signature failure matters only when no
    // certificate of that name verified.
    if (badSignature && !someVerified) noteEdge('SIGNATURE_INVALID', `${describe(cur, 'certificate')}: ${badSignature.detail}`);
    return undefined;
  };

  const found = search();
  if (found) return found;
  if (setAside) return { valid: false, reason: ChainReasons.CHAIN_UNTRUSTED, detail: 'every valid path was refused by the caller', path: setAside, setAside };
  if (firstFailure) return { valid: false, reason: firstFailure.reason, detail: firstFailure.detail, path: firstFailure.path };
  for (const reason of EDGE_PRIORITY) {
    const f = edgeFailures.get(reason);
    if (f) return { valid: false, reason, detail: f.detail, path: f.path };
  }
  return {
    valid: false,
    reason: ChainReasons.CHAIN_UNTRUSTED,
    detail: untrustedDetail ?? `no path from ${describe(leaf, 'leaf')} to a registered anchor (issuer '${leaf.cert.issuer}' not found among the anchors and the presented chain)`,
    path: [input.leaf],
  };
}

/**
 * Validates `leaf` against `anchors` at time `at` for `purpose`. Never throws for a bad chain: every
 * refusal is a result with a reason code from ChainReasons. Async so callers need not change if a
 * future check (OCSP, say) must wait; today the work is synchronous and cached.
 */
export async function validateChain(input: ValidateChainInput): Promise<ValidationResult> {
  return validateChainSync(input);
}

/**
 * The rules a certificate must meet on its own, before any chain exists (upload checks of an anchor):
 * well-formed v3, no unknown critical extension, no weak key, valid at `at`. A CA certificate must also
 * be usable as an issuer (basicConstraints cA:TRUE, keyCertSign when keyUsage is present).
 */
export function checkCertificate(cert: ParsedCert, at: Date): ValidationResult {
  const r = validateChainSync({ leaf: cert, untrusted: [], anchors: [cert], at, purpose: 'any' });
  if (!r.valid || !cert.isCa) return r;
  const f = factsOfCert(cert);
  if (!hasKeyUsage(f, KeyUsageBit.keyCertSign)) return { valid: false, reason: ChainReasons.KEY_USAGE_INVALID, detail: 'a CA certificate whose keyUsage lacks keyCertSign cannot issue certificates', path: [cert] };
  return r;
}
