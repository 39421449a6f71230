// The chain a device presented, captured at the handshake as DER, leaf first. Node exposes it as a
// linked list through `issuerCertificate`; a self-signed root points at itself, so stop on a repeat.
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';

const MAX_CHAIN = 16;

export function peerChainOf(socket: TLSSocket): Uint8Array[] {
  const out: Uint8Array[] = [];
  let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true) as DetailedPeerCertificate;
  const seen = new Set<string>();
  while (c && c.raw && c.raw.length && out.length < MAX_CHAIN) {
    const fp = c.fingerprint256;
    if (seen.has(fp)) break;
    seen.add(fp);
    out.push(new Uint8Array(c.raw));
    if (!c.issuerCertificate || c.issuerCertificate === c) break;
    c = c.issuerCertificate;
  }
  return out;
}
