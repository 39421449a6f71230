// @twoway/pki: PEM and X.509 parsing, the one chain validator, issuing. Returns small values and
// reason codes; DER stays inside.
export { parseDer, parsePemCertificates, parseSinglePem, sha256Hex } from './certificate.js';
export type { ParsedCert } from './certificate.js';
export { readPemBlocks, containsPrivateKey, toPem } from './pem.js';
export type { PemBlock } from './pem.js';
export { PkiError } from './errors.js';
export { createRootCa, issueIntermediateCa, issueDeviceCert, issueServerCert, randomSerial, KeyAlgorithms, DEFAULT_DAYS } from './issue.js';
export type { Issuer, Issued, KeyAlgorithm, CreateRootCaOptions, IssueIntermediateOptions, IssueDeviceOptions, IssueServerOptions } from './issue.js';
export { validateChain, validateChainSync, checkCertificate, caIdentityOf, AnchorSet, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PATHS } from './validate.js';
export type { ValidateChainInput, ValidationResult, Purpose } from './validate.js';
export { craftCertificate, craftCertificateDer, craftCrl, Ext, EKU, testKey, encodeName } from './craft.js';
export type { CraftOptions, CraftCrlOptions, CraftCrlEntry, CraftKeyType, CraftHash, KeyPair, NameSpec, RawExtension } from './craft.js';
export { parseCrl, verifyCrl, normalizeSerial, crlIsStale, CRL_CLOCK_SKEW_MS, DEFAULT_CRL_MAX_BYTES } from './crl.js';
export type { ParsedCrl, CrlVerdict, ParseCrlOptions } from './crl.js';
export { configurePkiCaches, pkiCacheStats, PkiCacheDefaults } from './caches.js';
export type { PkiCacheName, CacheStats } from './caches.js';
export { TrustDigest, trustDigest } from './trust-digest.js';
export type { TrustDigestRow } from './trust-digest.js';
