// TLS for the MQTT listener. Node's bundled OpenSSL runs at security level 1 (an RSA-1024 client
// certificate passes the TLS layer): raise it to 2, offer TLS 1.2+ with forward-secret AEAD suites
// only (TLS 1.3 suites are all of that kind). The client certificate is requested but not required at
// the TLS layer, so the application decides: intermediates as anchors, per-account trust, fallback.
import { constants } from 'node:crypto';
import type { TlsOptions } from 'node:tls';

export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const CIPHERS = `${TLS12_CIPHERS}:@SECLEVEL=2`;

// No renegotiation (a client-initiated renegotiation is a DoS lever); no session tickets, so every
// connection presents its certificate chain and is decided on it (docs/design.md §4: resumption
// re-presents no certificate).
export const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_TICKET | constants.SSL_OP_CIPHER_SERVER_PREFERENCE;

export function tlsContextOptions(cert: string, key: string): TlsOptions {
  return {
    cert,
    key,
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
    secureOptions: SECURE_OPTIONS,
    honorCipherOrder: true,
    ecdhCurve: 'X25519:P-256:P-384',
    requestCert: true,
    rejectUnauthorized: false,
  };
}
