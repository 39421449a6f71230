// Upload rules (docs/design.md §1): one certificate per entry, or a chain file split into entries that
// are all stored or none; private keys and damaged PEM refused by libs/pki before anything else
// looks at the input; every entry must be usable as an anchor. Pure: `now` is passed in.
import { MAX_SPLIT_ENTRIES } from '@twoway/contracts';
import { parsePemCertificates, type ParsedCert } from '@twoway/pki';
import { checkAnchor } from './anchor-rules.js';
import { CertDuplicateError, CertInvalidError, CertMultipleError } from '../errors.js';

export interface UploadInput {
  accountId: string;
  name: string;
  /** The PEM text as sent. Never logged, never stored: entries keep libs/pki's re-encoding of the DER. */
  pem: string;
  /** Register each certificate of a chain file as its own entry. */
  split: boolean;
}

export interface PlannedEntry {
  name: string;
  cert: ParsedCert;
}

const MAX_NAME = 256;

export function planUpload(input: UploadInput, now: Date): PlannedEntry[] {
  // Throws PkiError CERT_PRIVATE_KEY_REJECTED / CERT_PEM_INVALID with the parser's message.
  const certs = parsePemCertificates(input.pem);
  if (!input.split && certs.length > 1) throw new CertMultipleError(input.accountId, certs.length);
  if (certs.length > MAX_SPLIT_ENTRIES) {
    throw new CertInvalidError(certs[0]!.fingerprint, `the file holds ${certs.length} certificates; at most ${MAX_SPLIT_ENTRIES} can be registered at once`);
  }
  const many = certs.length > 1;
  const seen = new Map<string, number>();
  const repeats: { entry: number; fingerprint: string; existingId: null }[] = [];
  certs.forEach((c, i) => {
    const verdict = checkAnchor(c, now);
    if (!verdict.ok) throw new CertInvalidError(c.fingerprint, many ? `entry ${i + 1} (${c.kind}): ${verdict.problem}; nothing was stored` : verdict.problem);
    if (seen.has(c.fingerprint)) repeats.push({ entry: i + 1, fingerprint: c.fingerprint, existingId: null });
    else seen.set(c.fingerprint, i + 1);
  });
  if (repeats.length) throw new CertDuplicateError(input.accountId, repeats);
  return certs.map((cert, i) => ({ cert, name: many ? entryName(input.name, i + 1, cert.kind) : input.name }));
}

/** `Fleet chain #2 (intermediate)`: the operator's name plus the entry's place in the file. */
function entryName(base: string, n: number, kind: string): string {
  const suffix = ` #${n} (${kind})`;
  return base.slice(0, MAX_NAME - suffix.length) + suffix;
}
