// Strict PEM reading for uploads and the CLI: every block must be a well-formed CERTIFICATE;
// a private key anywhere in the input refuses the whole input (and its bytes go nowhere).
import { PkiError } from './errors.js';

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----([\s\S]*?)-----END ([A-Z0-9 ]{1,64})-----/g;
/** Any label naming a private key: PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 EC, DSA, OpenSSH. */
const PRIVATE_KEY_LABEL = /PRIVATE KEY/;
const MAX_INPUT_BYTES = 1024 * 1024;

/** True when the text holds private key material in any common encoding. Cheap; run before anything else. */
export function containsPrivateKey(text: string): boolean {
  return /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text) || /PuTTY-User-Key-File/.test(text);
}

export function readPemBlocks(text: string): PemBlock[] {
  if (typeof text !== 'string' || text.length === 0) throw new PkiError('CERT_PEM_INVALID', 'empty input: paste a PEM certificate including its BEGIN and END lines');
  if (text.length > MAX_INPUT_BYTES) throw new PkiError('CERT_PEM_INVALID', 'input too large');
  if (containsPrivateKey(text)) throw new PkiError('CERT_PRIVATE_KEY_REJECTED');
  const blocks: PemBlock[] = [];
  const normalized = text.replace(/\r\n?/g, '\n');
  let m: RegExpExecArray | null;
  let consumed = '';
  BLOCK.lastIndex = 0;
  while ((m = BLOCK.exec(normalized))) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new PkiError('CERT_PEM_INVALID', `block ${blocks.length + 1}: BEGIN ${begin} does not match END ${end}`);
    if (PRIVATE_KEY_LABEL.test(begin!)) throw new PkiError('CERT_PRIVATE_KEY_REJECTED');
    const lines = body!.split('\n').map((l) => l.trim()).filter(Boolean);
    // RFC 7468 allows explanatory headers only in legacy encapsulation; certificates carry none.
    const b64 = lines.join('');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      throw new PkiError('CERT_PEM_INVALID', `block ${blocks.length + 1} (${begin}): the base64 body is damaged or truncated`);
    }
    blocks.push({ label: begin!, der: new Uint8Array(Buffer.from(b64, 'base64')) });
    consumed += m[0];
  }
  if (blocks.length === 0) {
    if (/-----BEGIN /.test(normalized)) throw new PkiError('CERT_PEM_INVALID', 'a BEGIN line has no matching END line: the PEM is truncated');
    throw new PkiError('CERT_PEM_INVALID', 'no PEM block found: paste the certificate including its -----BEGIN CERTIFICATE----- and -----END CERTIFICATE----- lines');
  }
  const rest = normalized.replace(BLOCK, '').trim();
  if (/-----BEGIN /.test(rest)) throw new PkiError('CERT_PEM_INVALID', 'a BEGIN line has no matching END line: the PEM is truncated');
  return blocks;
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}
