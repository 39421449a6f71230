// The Add dialog's check before anything is sent: PEM certificates (RFC 7468 §5), never a private key.
// One certificate is one entry; a chain file (several) is offered as a split upload. The server checks
// again with libs/pki; this check exists so a pasted key never leaves the browser.
import { MAX_SPLIT_ENTRIES } from '@twoway/contracts';

export type PemCheck =
  | { ok: true; pems: string[] }
  | { ok: false; code: 'CERT_PEM_INVALID' | 'CERT_PRIVATE_KEY_REJECTED' | 'CERT_MULTIPLE'; message: string };

const BEGIN_ANY = /-----BEGIN ([A-Z0-9 ]+)-----/g;
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

export function checkPem(input: string): PemCheck {
  const text = input.replace(/\r\n?/g, '\n').trim();
  if (!text) return { ok: false, code: 'CERT_PEM_INVALID', message: 'Paste a PEM certificate or choose a file.' };

  const labels = [...text.matchAll(BEGIN_ANY)].map((m) => m[1] ?? '');
  // PKCS#1, SEC 1, PKCS#8 and encrypted PKCS#8 keys, and OpenSSH keys: refuse all of them.
  if (labels.some((l) => l.includes('PRIVATE KEY')) || /PRIVATE KEY-----/.test(text)) {
    return {
      ok: false,
      code: 'CERT_PRIVATE_KEY_REJECTED',
      message: 'This contains a private key. Only the public certificate may be added; the key was not sent. Keep the key on the device.',
    };
  }
  if (labels.length === 0) {
    return { ok: false, code: 'CERT_PEM_INVALID', message: 'No PEM certificate found: it must start with -----BEGIN CERTIFICATE----- and end with -----END CERTIFICATE-----.' };
  }
  const other = labels.find((l) => l !== 'CERTIFICATE');
  if (other) {
    const what = other === 'CERTIFICATE REQUEST' || other === 'NEW CERTIFICATE REQUEST' ? 'a certificate signing request' : `a ${other.toLowerCase()}`;
    return { ok: false, code: 'CERT_PEM_INVALID', message: `This is ${what}, not a certificate. Add the issued certificate (-----BEGIN CERTIFICATE-----).` };
  }
  const begins = labels.length;
  const ends = (text.match(/-----END CERTIFICATE-----/g) ?? []).length;
  if (ends < begins) return { ok: false, code: 'CERT_PEM_INVALID', message: 'The -----END CERTIFICATE----- line is missing: the certificate looks cut off.' };
  if (begins > MAX_SPLIT_ENTRIES) {
    return { ok: false, code: 'CERT_MULTIPLE', message: `This holds ${begins} certificates; at most ${MAX_SPLIT_ENTRIES} can be added at once. Split the file and add the CAs you want to trust.` };
  }
  const blocks = [...text.matchAll(CERT_BLOCK)];
  if (blocks.length !== begins) return { ok: false, code: 'CERT_PEM_INVALID', message: 'The BEGIN and END lines are out of order.' };
  const pems: string[] = [];
  for (const [n, block] of blocks.entries()) {
    const say = (m: string): string => (begins > 1 ? `Certificate ${n + 1} of ${begins}: ${m}` : m.charAt(0).toUpperCase() + m.slice(1));
    const b64 = (block[1] ?? '').replace(/\s+/g, '');
    if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      return { ok: false, code: 'CERT_PEM_INVALID', message: say('the text between the BEGIN and END lines is not valid base64.') };
    }
    const der = atob(b64);
    // A DER certificate is an ASN.1 SEQUENCE (tag 0x30) of a plausible size (RFC 5280 §4.1).
    if (der.charCodeAt(0) !== 0x30 || der.length < 100) {
      return { ok: false, code: 'CERT_PEM_INVALID', message: say('the content is not a DER-encoded X.509 certificate.') };
    }
    const lines = b64.match(/.{1,64}/g) ?? [];
    pems.push(`-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`);
  }
  return { ok: true, pems };
}
