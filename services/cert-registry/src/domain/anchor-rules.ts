// Whether a parsed certificate may be registered as a trust anchor. Pure: `now` is passed in.
// The chain validator (libs/pki) decides every connect on its own; these rules only refuse at upload
// what could never anchor a chain, so an operator learns it when registering rather than from a
// fleet that cannot connect.

/** The facts of a parsed certificate these rules look at (a subset of libs/pki's ParsedCert). */
export interface AnchorFacts {
  fingerprint: string;
  kind: 'root' | 'intermediate' | 'leaf';
  keyType: string;
  notBefore: Date;
  notAfter: Date;
}

export type AnchorVerdict = { ok: true } | { ok: false; problem: string };

/** RSA below 2048 bits is refused everywhere (docs/design.md §1, NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;
/** Curves a TLS 1.2/1.3 peer may use for a client certificate (RFC 8446 §4.2.7); others cannot anchor. */
const ACCEPTED_EC = new Set(['EC P-256', 'EC P-384', 'EC P-521']);

/**
 * Accepted: roots and intermediates (fleet and batch anchors) and leaves (a pinned device); not yet
 * valid certificates (they anchor from notBefore on). Refused: weak or unknown keys, and expired
 * certificates — RFC 5280 §6.1.3 (a)(2) makes every connect through an expired certificate fail,
 * so registering one would only hide the mistake.
 */
export function checkAnchor(c: AnchorFacts, now: Date): AnchorVerdict {
  const rsa = /^RSA(?:-PSS)? (\d+)$/.exec(c.keyType);
  if (rsa) {
    const bits = Number(rsa[1]);
    if (bits < MIN_RSA_BITS) return { ok: false, problem: `weak key: RSA ${bits} bits; at least ${MIN_RSA_BITS} are required` };
  } else if (!ACCEPTED_EC.has(c.keyType) && c.keyType !== 'Ed25519') {
    return { ok: false, problem: `unsupported key type ${c.keyType}: use RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519` };
  }
  if (c.notAfter.getTime() < now.getTime()) {
    return { ok: false, problem: `the certificate expired on ${c.notAfter.toISOString()}; an expired certificate cannot anchor a chain` };
  }
  if (c.notAfter.getTime() < c.notBefore.getTime()) {
    return { ok: false, problem: 'the validity period ends before it begins' };
  }
  return { ok: true };
}
