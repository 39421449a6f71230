// What Node 20 gives the broker of the chain a device sent, over real TLS. getPeerCertificate(true)
// (what peerChainOf uses) links each certificate to the first one sent that issued it and drops the
// other candidates; getPeerX509Certificate() returns them as sent but only once, and leaks them
// (docs/broker.md, "The presented chain"). These tests pin both facts: when one changes, revisit
// peer-chain.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type TLSSocket, type Server } from 'node:tls';
import { createHash, type X509Certificate } from 'node:crypto';
import { createRootCa, issueDeviceCert, issueIntermediateCa, type Issued } from '@twoway/pki';
import { makeTestPki } from '@twoway/testing';
import { peerChainOf } from './peer-chain.js';

interface Seen {
  chain: Uint8Array[];
  /** getPeerX509Certificate() called twice, walking issuerCertificate (names from `names`). */
  x509First?: string[];
  x509Second?: string[];
}

describe('peerChainOf: the chain Node 20 exposes', () => {
  let server: Server;
  let port: number;
  let rootA: Issued, rootB: Issued, icaA: Issued, icaB: Issued, device: Issued;
  const names = new Map<string, string>();
  const name = (der: Uint8Array) => names.get(createHash('sha256').update(der).digest('hex')) ?? '?';
  let probeX509 = false;
  let onSecure: (s: Seen) => void = () => undefined;

  before(async () => {
    const pki = await makeTestPki();
    rootA = await createRootCa({ commonName: 'peer-chain root A' });
    rootB = await createRootCa({ commonName: 'peer-chain root B' });
    icaA = await issueIntermediateCa({ issuer: rootA, commonName: 'peer-chain ICA' });
    // The same CA (subject and key) cross-signed by root B.
    icaB = await issueIntermediateCa({ issuer: rootB, commonName: 'peer-chain ICA', keyPem: icaA.keyPem });
    device = await issueDeviceCert({ issuer: icaA, commonName: 'peer-chain-device' });
    for (const [n, c] of Object.entries({ rootA, rootB, icaA, icaB, device })) names.set(c.cert.fingerprint, n);
    server = createServer({ cert: pki.server.chainPem, key: pki.server.keyPem, requestCert: true, rejectUnauthorized: false }, (s: TLSSocket) => {
      const seen: Seen = { chain: peerChainOf(s) };
      if (probeX509) {
        const walk = (x: X509Certificate | undefined) => {
          const out: string[] = [];
          for (let c = x; c && out.length < 16; c = c.issuerCertificate) out.push(name(c.raw));
          return out;
        };
        seen.x509First = walk(s.getPeerX509Certificate());
        seen.x509Second = walk(s.getPeerX509Certificate());
      }
      s.destroy();
      onSecure(seen);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const present = (sent: Issued[]) =>
    new Promise<Seen>((resolve, reject) => {
      onSecure = resolve;
      const c = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, cert: device.certPem + sent.map((s) => s.certPem).join(''), key: device.keyPem });
      c.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    });

  it('keeps the first issuer the device sent and drops the other candidate (so the order decides the path)', async () => {
    probeX509 = false;
    const ab = await present([icaA, icaB, rootA, rootB]);
    assert.deepEqual(ab.chain.map(name), ['device', 'icaA', 'rootA']);
    const ba = await present([icaB, icaA, rootA, rootB]);
    assert.deepEqual(ba.chain.map(name), ['device', 'icaB', 'rootB']);
  });

  it('Node 20: getPeerX509Certificate() lists the certificates as sent, once; a second call finds the chain consumed', async () => {
    probeX509 = true;
    try {
      const seen = await present([icaA, icaB, rootA]);
      assert.deepEqual(seen.x509First, ['device', 'icaA', 'icaB', 'rootA'], 'issuerCertificate is the next certificate sent, not the issuer');
      assert.deepEqual(seen.x509Second, ['device'], 'the first call removed the chain from the TLS session (and never frees it)');
    } finally {
      probeX509 = false;
    }
  });
});
