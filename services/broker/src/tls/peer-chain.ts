// The chain a device presented, captured at the handshake as DER, leaf first. Node exposes it as a
// linked list through `issuerCertificate`; a self-signed root points at itself, so stop on a repeat.
// Node links each certificate to the first certificate sent that issued it (name, key identifier and
// keyUsage, not validity) and drops any other candidate: a device that sends two copies of an
// intermediate (cross-signed, renewed) is seen with the first one only. Node 20's
// getPeerX509Certificate() lists every certificate as sent, but removes them from the TLS session on
// the first call and never frees them (about 5.6 KB per CA certificate per handshake, which any peer
// could trigger), so it is not used. docs/broker.md "The presented chain" has the workaround:
// register every copy of the intermediate, since libs/pki tries every registered candidate.
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
