// Evaluate the chain a device presented against its account's trust set: validate with the one
// validator (libs/pki) using VALID registrations as anchors, then check every certificate of the
// validated path against the registry (not just the leaf: DESIGN.md §5, Mosquitto's crlfile).
import { ConnectReasons, type CertStatus, type ConnectReason } from '@twoway/contracts';
import { validateChain, type ParsedCert } from '@twoway/pki';
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
const blockedBy = (path: readonly ParsedCert[], trust: TrustSnapshot) => blockedPath(path.map((c) => c.fingerprint), trust);

/**
 * `presented` is the TLS Certificate message in order: the leaf first (RFC 8446 §4.4.2), then
 * whatever the device sent (the validator tolerates order, extras and duplicates).
 */
export async function evaluateChain(presented: readonly ParsedCert[], trust: TrustSnapshot, at: Date, validate: Validate = validateChain): Promise<ChainFacts> {
  const [leafCert, ...untrusted] = presented;
  if (!leafCert) return { kind: 'none' };
  const leaf = leafFacts(leafCert);
  const first = await validate({ leaf: leafCert, untrusted, anchors: trust.validAnchors, at, purpose: 'client' });
  if (first.valid) {
    const path = first.path.map((c) => c.fingerprint);
    const b = blockedBy(first.path, trust);
    return b ? { kind: 'blocked', ...b, leaf, path } : { kind: 'trusted', leaf, path };
  }
  // Untrusted with the VALID anchors: if it verifies with a suspended or revoked registration, say so
  // precisely (ANCHOR_SUSPENDED rather than CHAIN_UNTRUSTED) — and it is then a blocked chain.
  if (first.reason === ConnectReasons.CHAIN_UNTRUSTED && trust.hasNonValid) {
    const second = await validate({ leaf: leafCert, untrusted, anchors: trust.allAnchors, at, purpose: 'client' });
    if (second.valid) {
      const b = blockedBy(second.path, trust);
      if (b) return { kind: 'blocked', ...b, leaf, path: second.path.map((c) => c.fingerprint) };
    }
  }
  return { kind: 'untrusted', reason: first.reason as ConnectReason, leaf };
}
