// The connect decision: pure, time passed in. Facts in (gathered by gather-facts.ts), a decision out.
// The rule is docs/design.md §1 "The connection rule" and docs/broker.md "The connect decision"; every refusal names its reason
// (libs/contracts reason-codes.ts), because MQTT 3.1.1 can only say CONNACK 4 or 5.
import { AuditTypes, ConnectReasons, type ConnectReason, type Settings } from '@twoway/contracts';

/** The leaf as presented (its fields are trusted only when `ChainFacts.kind` is 'trusted' or 'blocked'). */
export interface LeafFacts {
  fingerprint: string;
  subject: string;
  commonName: string | undefined;
  /** `dns:x`, `ip:x`, `email:x`, `uri:x` as parsed by libs/pki. */
  sans: readonly string[];
}

export type ChainFacts =
  /** No client certificate (or a plain TCP connection). */
  | { kind: 'none' }
  /** Presented, but not evaluated: the account does not use certificates (plain TLS only). Recorded only. */
  | { kind: 'not_evaluated'; leaf: LeafFacts }
  /** Did not verify against the account's VALID anchors. */
  | { kind: 'untrusted'; reason: ConnectReason; leaf?: LeafFacts }
  /**
   * Verified, but a certificate on the path is registered SUSPENDED or REVOKED in the ancestry, its serial
   * is revoked by its issuer (CRL or revoked-serial entry: `serial` says which), or (account refusing stale
   * CRLs) an issuer's CRL is stale.
   */
  | { kind: 'blocked'; reason: ConnectReason; fingerprint: string; serial?: string; leaf: LeafFacts; path: readonly string[] }
  /**
   * Verified against a VALID anchor, nothing on the path suspended or revoked. `path` leaf-first, anchor-last.
   * `staleCrl`: an issuer's CRL on the path is past its nextUpdate and the account accepts that (audited).
   * `caIdentities`: the CA identity (subject and key) of each certificate of the path, which a live session
   * is found by when another copy of one of its CAs changes (sessions/session-registry.ts).
   */
  | { kind: 'trusted'; leaf: LeafFacts; path: readonly string[]; caIdentities: readonly string[]; staleCrl?: { fingerprint: string; nextUpdate: string } };

export type KeyKind = 'username' | 'certificateCn' | 'certificateSubject';

export type CredentialFacts =
  | { status: 'missing' }
  | { status: 'refused'; reason: ConnectReason; accountId?: string }
  /** `requireCertificate`: the credential is accepted only on a trusted chain, never on its password alone. */
  | { status: 'ok'; accountId: string; credentialId: string; username: string; keyKind: KeyKind; key: string; requireCertificate: boolean };

export interface ConnectFacts {
  clientId: string;
  username: string | undefined;
  credential: CredentialFacts;
  /** Present when the credential was accepted: the account's settings and ancestry (self first). */
  settings?: Settings;
  chain: ChainFacts;
  /**
   * Asked only when the chain did not count and the account would fall back: the verified path this
   * credential last connected with has a certificate now SUSPENDED or REVOKED (the reason says which,
   * as for a presented chain). Such a device may not fall back to its password (docs/broker.md).
   */
  fallbackBlockedBy?: { reason: ConnectReason; fingerprint: string };
  /** Set when an owner or NATS did not answer while gathering: fail closed. */
  undecidable?: boolean;
  /** When NATS went away (epoch ms), undefined while connected. */
  natsDownSinceMs?: number;
}

export interface DecideOptions {
  nowMs: number;
  staleAfterMs: number;
}

export type Mode = 'mutual' | 'plain' | 'fallback';

export type Decision =
  | { outcome: 'accepted'; type: typeof AuditTypes.ConnectAccepted | typeof AuditTypes.ConnectAcceptedFallback; reason: ConnectReason; mode: Mode }
  | { outcome: 'rejected'; type: typeof AuditTypes.ConnectRejected; reason: ConnectReason; returnCode: 1 | 2 | 4 | 5 };

const R = ConnectReasons;

/** MQTT 3.1.1 §3.2.2.3: 4 = bad user name or password, 5 = not authorized. Credential problems are 4. */
const CREDENTIAL_REASONS: ReadonlySet<string> = new Set([R.BAD_CREDENTIALS, R.CREDENTIALS_MISSING, R.CREDENTIAL_DISABLED, R.CREDENTIAL_EXPIRED]);

export const returnCodeOf = (reason: ConnectReason): 4 | 5 => (CREDENTIAL_REASONS.has(reason) ? 4 : 5);

const reject = (reason: ConnectReason): Decision => ({ outcome: 'rejected', type: AuditTypes.ConnectRejected, reason, returnCode: returnCodeOf(reason) });
const accept = (reason: ConnectReason, mode: Mode): Decision => ({
  outcome: 'accepted',
  type: mode === 'fallback' ? AuditTypes.ConnectAcceptedFallback : AuditTypes.ConnectAccepted,
  reason,
  mode,
});

/** The names a verified leaf answers to: its CN and every SAN value (without the `dns:`-style prefix). */
export function namesOf(leaf: LeafFacts): string[] {
  const names = leaf.sans.map((s) => s.slice(s.indexOf(':') + 1));
  if (leaf.commonName !== undefined) names.unshift(leaf.commonName);
  return names;
}

/** Identity binding (docs/design.md §1): the verified certificate must name this client id and/or username. */
export function bindingHolds(bindTo: Settings['identity']['bindCertificateTo'], leaf: LeafFacts, clientId: string, username: string | undefined): boolean {
  if (bindTo === 'none') return true;
  const names = namesOf(leaf);
  const clientOk = names.includes(clientId);
  const userOk = username !== undefined && names.includes(username);
  if (bindTo === 'clientId') return clientOk;
  if (bindTo === 'username') return userOk;
  return clientOk && userOk;
}

/** The credential key a verified leaf supplies under the account's lookup mode. */
export function certificateKey(lookup: KeyKind, leaf: LeafFacts): string | undefined {
  return lookup === 'certificateCn' ? leaf.commonName : lookup === 'certificateSubject' ? leaf.subject : undefined;
}

/**
 * Would this credential get in on its password alone in an account with these settings (no certificate,
 * and none recorded as blocked)? What the blast-radius count asks of each live session a status change
 * ends: its device could come back without its certificate. Agrees with `decide` (decide.spec.ts).
 */
export function passwordAloneAdmits(s: Settings, cred: Extract<CredentialFacts, { status: 'ok' }>): boolean {
  return s.tls.enabled && s.identity.credentialLookup === 'username' && cred.keyKind === 'username' && !cred.requireCertificate;
}

export function decide(f: ConnectFacts, o: DecideOptions): Decision {
  // Fail closed: an owner did not answer, or NATS has been away longer than the staleness bound, so no
  // cached answer can be trusted to reflect a suspension made meanwhile (docs/design.md §4).
  if (f.undecidable) return reject(R.UNDECIDABLE);
  if (f.natsDownSinceMs !== undefined && o.nowMs - f.natsDownSinceMs > o.staleAfterMs) return reject(R.UNDECIDABLE);

  // The credential says whose device this is; without an accepted one there is no account to decide for.
  const cred = f.credential;
  if (cred.status === 'missing') return reject(R.CREDENTIALS_MISSING);
  if (cred.status === 'refused') return reject(cred.reason);
  const s = f.settings;
  if (!s) return reject(R.UNDECIDABLE);

  const mutual = s.mutualTls.available && s.mutualTls.enabled;
  const plain = s.tls.enabled;
  if (!mutual && !plain) return reject(R.ACCOUNT_DISABLED);

  const chain = f.chain;
  const lookup = s.identity.credentialLookup;
  const username = cred.username;

  // A key taken from a certificate is only honoured when the account looks credentials up that way...
  if (cred.keyKind !== 'username' && lookup === 'username') return reject(R.CREDENTIALS_MISSING);

  // ...and only from a chain that verified: the fallback never trusts certificate fields (docs/design.md §4).
  if (lookup !== 'username') {
    if (chain.kind === 'none' || chain.kind === 'not_evaluated') return reject(R.CERT_REQUIRED);
    if (chain.kind === 'untrusted' || chain.kind === 'blocked') return reject(chain.reason);
    if (certificateKey(lookup, chain.leaf) !== cred.key) return reject(R.CN_MISMATCH);
    if (!bindingHolds(s.identity.bindCertificateTo, chain.leaf, f.clientId, username)) return reject(R.CN_MISMATCH);
    return accept(R.MUTUAL_TLS, 'mutual');
  }

  if (mutual) {
    if (chain.kind === 'trusted') {
      // A trusted certificate that names another device is refused, never sent to the fallback:
      // otherwise binding could be bypassed by any credential holder.
      if (!bindingHolds(s.identity.bindCertificateTo, chain.leaf, f.clientId, username)) return reject(R.CN_MISMATCH);
      return accept(R.MUTUAL_TLS, 'mutual');
    }
    // Default policy (docs/broker.md, "The connect decision"): a chain that verified but carries a SUSPENDED or REVOKED
    // certificate is refused even when plain TLS is on; the fallback is for missing or untrusted ones.
    if (chain.kind === 'blocked') return reject(chain.reason);
    const why = chain.kind === 'untrusted' ? chain.reason : R.CHAIN_EMPTY;
    if (!plain) return reject(chain.kind === 'untrusted' ? chain.reason : R.MTLS_REQUIRED);
    // The credential's own rule, whatever chain it last connected with: no password-only way in for it
    // (docs/broker.md, "Credentials that require a certificate").
    if (cred.requireCertificate) return reject(R.CREDENTIAL_REQUIRES_CERTIFICATE);
    // Suspending or revoking a CA means "these devices are out": a credential that last connected with
    // a chain through it cannot get in by leaving its certificate at home (or presenting another one).
    if (f.fallbackBlockedBy) return reject(f.fallbackBlockedBy.reason);
    return accept(why, 'fallback');
  }

  // Plain TLS only: credentials decide; a presented certificate is recorded, not required — except by a
  // credential that requires one, which no chain can satisfy while mutual TLS is off: fail closed.
  if (cred.requireCertificate) return reject(R.CREDENTIAL_REQUIRES_CERTIFICATE);
  return accept(R.PLAIN_TLS, 'plain');
}
