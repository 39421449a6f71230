// What a dry run takes from an operator (docs/broker.md, "Dry run"): the device's chain as PEM, checked
// by libs/pki's strict reader before anything else looks at it — a private key anywhere refuses the
// whole input (and goes nowhere), a damaged block is named — and bounded in count, so a hostile paste
// costs at most DRY_RUN_MAX_CERTIFICATES parses here and one validation on a broker.
import { DRY_RUN_MAX_CERTIFICATES } from '@twoway/contracts';
import { parsePemCertificates, type ParsedCert } from '@twoway/pki';
import { DryRunChainTooLongError } from '../errors.js';

/** The presented certificates, leaf first, as the device would send them; none for an absent or blank chain. */
export function dryRunChain(pem: string | undefined): ParsedCert[] {
  if (pem === undefined || pem.trim() === '') return [];
  // Throws PkiError CERT_PRIVATE_KEY_REJECTED / CERT_PEM_INVALID ("block 2: …") with the parser's message.
  const certs = parsePemCertificates(pem);
  if (certs.length > DRY_RUN_MAX_CERTIFICATES) throw new DryRunChainTooLongError(certs.length, DRY_RUN_MAX_CERTIFICATES);
  return certs;
}
