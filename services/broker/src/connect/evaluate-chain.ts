// Evaluate the chain a device presented against its account's trust set: validate with the one
// validator (libs/pki) using VALID registrations as anchors, and check every certificate of each
// candidate path against the registry (not just the leaf: docs/design.md §4, Mosquitto's crlfile): its
// status, and its serial against the revocation data (CRL, revoked-serial entries) of the CA that issued
// it. A device is admitted when any candidate path is valid and clean; status and revocation follow the
// CA (subject and key), so a renewed or cross-signed copy of a CA counts as the CA (docs/broker.md, "The
// connect decision").
import { ConnectReasons, DEFAULT_STALE_CRL_POLICY, type CertStatus, type ConnectReason, type StaleCrlPolicy } from '@twoway/contracts';
import { caIdentityOf, normalizeSerial, validateChain, type ParsedCert } from '@twoway/pki';
import type { TrustSnapshot } from '../cache/trust-cache.js';
import type { ChainFacts, LeafFacts } from './decide.js';

export type Validate = typeof validateChain;

export const leafFacts = (c: ParsedCert): LeafFacts => ({ fingerprint: c.fingerprint, subject: c.subject, commonName: c.commonName, sans: c.sans });

function statusReason(status: CertStatus, index: number, pathLength: number): ConnectReason {
  // The path's last certificate is the registered anchor it ended at; a one-certificate path is a pinned leaf.
  const anchor = index === pathLength - 1 && pathLength > 1;
  if (status === 'REVOKED') return anchor ? ConnectReasons.ANCHOR_REVOKED : ConnectReasons.CERT_REVOKED;
  return anchor ? ConnectReasons.ANCHOR_SUSPENDED : ConnectReasons.CERT_SUSPENDED;
}

/** The first certificate of the path (fingerprints, leaf first) registered SUSPENDED or REVOKED in the ancestry. */
export function blockedPath(path: readonly string[], trust: Pick<TrustSnapshot, 'statusOf'>): { reason: ConnectReason; fingerprint: string } | undefined {
  for (let i = 0; i < path.length; i++) {
    const st = trust.statusOf(path[i]!);
    if (st && st !== 'VALID') return { reason: statusReason(st, i, path.length), fingerprint: path[i]! };
  }
  return undefined;
}

const SEVERITY: Record<CertStatus, number> = { VALID: 0, SUSPENDED: 1, REVOKED: 2 };

/**
 * The worst status of `cert` and of every registration of the same CA (same subject and
 * SubjectPublicKeyInfo): suspending one copy of a CA must not be bypassed by presenting another copy.
 * The fingerprint returned is the registration that carries that status.
 */
function standingOf(cert: ParsedCert, trust: TrustSnapshot): { status: CertStatus; fingerprint: string } | undefined {
  let worst: { status: CertStatus; fingerprint: string } | undefined;
  const own = trust.statusOf(cert.fingerprint);
  if (own) worst = { status: own, fingerprint: cert.fingerprint };
  for (const twin of trust.allAnchors.sameCa(cert)) {
    const st = trust.statusOf(twin.fingerprint);
    if (st && (!worst || SEVERITY[st] > SEVERITY[worst.status])) worst = { status: st, fingerprint: twin.fingerprint };
  }
  return worst;
}

interface Blocked {
  reason: ConnectReason;
  fingerprint: string;
  /** The revoked certificate's serial, when its issuer revoked it. */
  serial?: string;
}

/** The first certificate of the path registered SUSPENDED or REVOKED in the ancestry (itself or a copy of its CA), leaf first. */
function blockedByStatus(path: readonly ParsedCert[], trust: TrustSnapshot): Blocked | undefined {
  // Nothing registered SUSPENDED or REVOKED: nothing to look up (the common case costs nothing).
  if (!trust.hasNonValid) return undefined;
  for (let i = 0; i < path.length; i++) {
    const st = standingOf(path[i]!, trust);
    if (st && st.status !== 'VALID') return { reason: statusReason(st.status, i, path.length), fingerprint: st.fingerprint };
  }
  return undefined;
}

const serials = new WeakMap<ParsedCert, string | undefined>();
/** The certificate's serial as revocation data keys it (libs/pki normalizeSerial), computed once per certificate. */
export function serialOf(c: ParsedCert): string | undefined {
  if (!serials.has(c)) serials.set(c, normalizeSerial(c.serial));
  return serials.get(c);
}

/**
 * The first certificate of the path whose issuer (the next certificate on the path, or a registered copy of
 * that CA) revoked its serial, leaf first; with `refuse`, also the first issuer whose CRL is stale. The anchor
 * the path ends at has no issuer on the path: its registration status governs it. A Map lookup per
 * certificate: the cost does not grow with the size of the CRLs.
 */
function revokedOnPath(path: readonly ParsedCert[], trust: TrustSnapshot, atMs: number, staleCrl: StaleCrlPolicy): Blocked | undefined {
  const index = trust.revocation;
  if (!index) return undefined;
  for (let i = 0; i + 1 < path.length; i++) {
    const ca = index.forIssuer(path[i + 1]!);
    if (!ca) continue;
    const serial = serialOf(path[i]!);
    const how = serial === undefined ? undefined : ca.revoked(serial);
    if (how) return { reason: how === 'manual' ? ConnectReasons.CERT_SERIAL_REVOKED : ConnectReasons.CERT_REVOKED_BY_CRL, fingerprint: path[i]!.fingerprint, serial: serial! };
    const stale = staleCrl === 'refuse' ? ca.staleCrl(atMs) : undefined;
    if (stale) return { reason: ConnectReasons.CRL_STALE, fingerprint: stale.fingerprint };
  }
  return undefined;
}

/** The first issuer on the path whose CRL is stale (a connect that accepts stale CRLs says so in its audit event). */
function staleOnPath(path: readonly ParsedCert[], trust: TrustSnapshot, atMs: number): { fingerprint: string; nextUpdate: string } | undefined {
  if (!trust.revocation) return undefined;
  for (let i = 1; i < path.length; i++) {
    const stale = trust.revocation.forIssuer(path[i]!)?.staleCrl(atMs);
    if (stale) return stale;
  }
  return undefined;
}

/** The CA identity of each certificate of a path (cached with each certificate: a hash of its key, once). */
function identitiesOf(path: readonly ParsedCert[]): string[] {
  const out: string[] = [];
  for (const c of path) {
    const id = caIdentityOf(c);
    if (id !== undefined) out.push(id);
  }
  return out;
}

function blockedBy(path: readonly ParsedCert[], trust: TrustSnapshot, atMs: number, staleCrl: StaleCrlPolicy): Blocked | undefined {
  return blockedByStatus(path, trust) ?? revokedOnPath(path, trust, atMs, staleCrl);
}

/**
 * `presented` is the TLS Certificate message in order: the leaf first (RFC 8446 §4.4.2), then
 * whatever the device sent (the validator tolerates order, extras and duplicates). `staleCrl`: the
 * account's choice for a CA whose CRL is past its nextUpdate (its settings' revocation.staleCrl).
 */
export async function evaluateChain(presented: readonly ParsedCert[], trust: TrustSnapshot, at: Date, validate: Validate = validateChain, staleCrl: StaleCrlPolicy = DEFAULT_STALE_CRL_POLICY): Promise<ChainFacts> {
  const [leafCert, ...untrusted] = presented;
  if (!leafCert) return { kind: 'none' };
  const leaf = leafFacts(leafCert);
  const atMs = at.getTime();
  // Every candidate path is tried: one through a suspended CA (or a revoked serial) is set aside and the
  // search goes on, so a device whose chain also reaches a VALID anchor through clean CAs (cross-signing,
  // a renewed intermediate beside its predecessor) is admitted whatever order it sent them in.
  const acceptPath = trust.hasNonValid || trust.revocation ? (p: readonly ParsedCert[]) => blockedBy(p, trust, atMs, staleCrl) === undefined : undefined;
  const first = await validate({ leaf: leafCert, untrusted, anchors: trust.validAnchors, at, purpose: 'client', ...(acceptPath ? { acceptPath } : {}) });
  if (first.valid) {
    const path = first.path.map((c) => c.fingerprint);
    // Re-checked here too: a `validate` that ignores acceptPath must not admit a blocked path.
    const b = blockedBy(first.path, trust, atMs, staleCrl);
    if (b) return { kind: 'blocked', ...b, leaf, path };
    const stale = staleOnPath(first.path, trust, atMs);
    return { kind: 'trusted', leaf, path, caIdentities: identitiesOf(first.path), ...(stale ? { staleCrl: stale } : {}) };
  }
  if (first.setAside) {
    const b = blockedBy(first.setAside, trust, atMs, staleCrl);
    if (b) return { kind: 'blocked', ...b, leaf, path: first.setAside.map((c) => c.fingerprint) };
  }
  // Untrusted with the VALID anchors: if it verifies with a suspended or revoked registration, say so
  // precisely (ANCHOR_SUSPENDED rather than CHAIN_UNTRUSTED) — and it is then a blocked chain.
  if (first.reason === ConnectReasons.CHAIN_UNTRUSTED && trust.hasNonValid) {
    const second = await validate({ leaf: leafCert, untrusted, anchors: trust.allAnchors, at, purpose: 'client' });
    if (second.valid) {
      const b = blockedBy(second.path, trust, atMs, staleCrl);
      if (b) return { kind: 'blocked', ...b, leaf, path: second.path.map((c) => c.fingerprint) };
    }
  }
  return { kind: 'untrusted', reason: first.reason as ConnectReason, leaf };
}
