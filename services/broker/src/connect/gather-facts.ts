// Step 1 of a connect: collect what the decision needs — the MQTT CONNECT fields, the peer chain
// captured at the handshake, the credential's owner and settings, and the chain's standing against
// the account's trust set — from warm caches or, on a miss, from the owners over NATS.
import { ConnectReasons, staleCrlPolicyOf, type ConnectReason, type MqttTransport } from '@twoway/contracts';
import { parseDer, type ParsedCert } from '@twoway/pki';
import type { AccountSettings } from '../cache/settings-cache.js';
import type { OwnerQuery, Owners } from '../nats/owners.js';
import type { ChainFacts, ConnectFacts, CredentialFacts, KeyKind, LeafFacts } from './decide.js';
import { bindingHolds } from './decide.js';
import { blockedPath, evaluateChain, leafFacts, type Validate } from './evaluate-chain.js';

/** One MQTT CONNECT as the broker saw it. The password lives only for the duration of the decision. */
export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** DER of the certificates the device sent, leaf first (empty: none, or plain TCP). */
  peerChain: readonly Uint8Array[];
  sourceAddress: string | undefined;
  transport: MqttTransport;
  nowMs: number;
  natsDownSinceMs: number | undefined;
  /** The connect's trace (its NATS requests join it) and cache tally. */
  query?: OwnerQuery;
}

export interface GatheredFacts {
  facts: ConnectFacts;
  /** Parsed presented chain (kept with a session to re-decide it later). */
  presented: readonly ParsedCert[];
  /** The presented leaf, for the audit record (its fields are escaped there). */
  leaf: LeafFacts | undefined;
  accountId: string | undefined;
  /** Ancestry of `accountId` (self first) when the owners said it, also for a refused credential. */
  ancestry: readonly string[] | undefined;
  /** The verified path the credential last connected with, when it was asked for (a would-be fallback). */
  recordedPath?: readonly string[];
  /** Why the owners could not be asked, for the log. */
  error?: unknown;
}

/**
 * Who answers the credential question: the owners over NATS (a CONNECT), or, for a dry run, an
 * inspection that counts no failure (connect/dry-run.ts). The rest of the gathering is the same.
 */
export type CredentialSource = Pick<Owners, 'verifyCredential'>;

/**
 * Would this account let the device in on its password alone, the certificate not counting? Not a
 * credential that requires a certificate: decide refuses it anyway, so its last chain is not asked for.
 */
const wouldFallBack = (s: AccountSettings['settings'], chain: ChainFacts, requireCertificate: boolean): boolean =>
  s.mutualTls.available && s.mutualTls.enabled && s.tls.enabled && s.identity.credentialLookup === 'username' && (chain.kind === 'none' || chain.kind === 'untrusted') && !requireCertificate;

function parseChain(ders: readonly Uint8Array[]): { certs: ParsedCert[]; malformed: boolean } {
  const certs: ParsedCert[] = [];
  for (const d of ders) {
    try {
      certs.push(parseDer(d));
    } catch {
      return { certs, malformed: true };
    }
  }
  return { certs, malformed: false };
}

/** Does this account need the chain evaluated (mutual TLS on, or credentials keyed by certificate)? */
export const usesCertificates = (s: AccountSettings['settings']): boolean =>
  (s.mutualTls.available && s.mutualTls.enabled) || s.identity.credentialLookup !== 'username';

/** Evaluate a presented chain for an account (also used to re-decide live sessions). */
export async function chainFactsFor(presented: readonly ParsedCert[], malformed: boolean, account: AccountSettings, owners: Owners, at: Date, validate?: Validate, q?: OwnerQuery): Promise<ChainFacts> {
  const leaf = presented[0] ? leafFacts(presented[0]) : undefined;
  if (malformed) return { kind: 'untrusted', reason: ConnectReasons.CERT_MALFORMED, ...(leaf ? { leaf } : {}) };
  if (!leaf) return { kind: 'none' };
  if (!usesCertificates(account.settings)) return { kind: 'not_evaluated', leaf };
  const trust = await owners.trustSet(account.ancestry, q);
  return evaluateChain(presented, trust, at, validate, staleCrlPolicyOf(account.settings));
}

/**
 * A credential refused RATE_LIMITED names its account: does the presented chain verify for that account
 * (trusted, and bound to this client when the account binds certificates)? Then the device is asked for
 * again as `chainVerified`, and guesses from other addresses cannot keep it out (docs/limits.md,
 * "Credential lockout"). Only on this path: a connect that was not refused costs nothing more.
 */
async function chainVerifiedFor(r: { accountId?: string }, certs: readonly ParsedCert[], malformed: boolean, a: ConnectAttempt, owners: Owners, validate?: Validate): Promise<boolean> {
  if (!r.accountId || malformed || certs.length === 0) return false;
  const account = await owners.settings(r.accountId, a.query);
  if (!usesCertificates(account.settings)) return false;
  const chain = await chainFactsFor(certs, malformed, account, owners, new Date(a.nowMs), validate, a.query);
  return chain.kind === 'trusted' && bindingHolds(account.settings.identity.bindCertificateTo, chain.leaf, a.clientId, a.username);
}

export async function gatherFacts(a: ConnectAttempt, owners: Owners, validate?: Validate, credentials: CredentialSource = owners): Promise<GatheredFacts> {
  const { certs, malformed } = parseChain(a.peerChain);
  const leafCert = malformed ? undefined : certs[0];
  const leaf = certs[0] ? leafFacts(certs[0]) : undefined;
  const base = { clientId: a.clientId, username: a.username, natsDownSinceMs: a.natsDownSinceMs };
  const recorded: ChainFacts = leaf ? { kind: 'not_evaluated', leaf } : malformed ? { kind: 'untrusted', reason: ConnectReasons.CERT_MALFORMED } : { kind: 'none' };

  // The credential key: the MQTT username, or — when the device sent none — the certificate's CN,
  // then its subject DN. A certificate-derived key is honoured only if the account looks credentials
  // up that way and the chain verifies (decide.ts); here it is only a candidate.
  const candidates: { key: string; kind: KeyKind }[] = [];
  if (a.username) candidates.push({ key: a.username, kind: 'username' });
  else if (leafCert) {
    if (leafCert.commonName) candidates.push({ key: leafCert.commonName, kind: 'certificateCn' });
    candidates.push({ key: leafCert.subject, kind: 'certificateSubject' });
  }
  if (candidates.length === 0 || a.password === undefined) {
    return { facts: { ...base, credential: { status: 'missing' }, chain: recorded }, presented: certs, leaf, accountId: undefined, ancestry: undefined };
  }
  const password = a.password.toString('utf8');

  try {
    let credential: CredentialFacts = { status: 'refused', reason: ConnectReasons.BAD_CREDENTIALS };
    let account: AccountSettings | undefined;
    // Of a refused credential whose account is known: that account's ancestry, for the audit event.
    let refusedAncestry: readonly string[] | undefined;
    for (const c of candidates) {
      let r = await credentials.verifyCredential(c.key, c.kind, password, a.sourceAddress, a.nowMs, a.query);
      if (!r.ok && r.reason === ConnectReasons.RATE_LIMITED && (await chainVerifiedFor(r, certs, malformed, a, owners, validate))) {
        r = await credentials.verifyCredential(c.key, c.kind, password, a.sourceAddress, a.nowMs, a.query, true);
      }
      if (r.ok) {
        credential = {
          status: 'ok',
          accountId: r.credential.accountId,
          credentialId: r.credential.credentialId,
          username: r.credential.username,
          keyKind: c.kind,
          key: c.key,
          requireCertificate: r.credential.requireCertificate,
        };
        account = r.settings;
        break;
      }
      credential = { status: 'refused', reason: r.reason as ConnectReason, ...(r.accountId ? { accountId: r.accountId } : {}) };
      refusedAncestry = r.accountId ? r.ancestry : undefined;
      if (r.reason !== ConnectReasons.BAD_CREDENTIALS) break;
    }
    if (credential.status !== 'ok' || !account) {
      const accountId = credential.status === 'refused' ? credential.accountId : undefined;
      return { facts: { ...base, credential, chain: recorded }, presented: certs, leaf, accountId, ancestry: accountId ? refusedAncestry : undefined };
    }
    const chain = await chainFactsFor(certs, malformed, account, owners, new Date(a.nowMs), validate, a.query);
    // Before a fallback: the chain this credential last verified with, checked against the current
    // statuses (one read by id; only for connects that would fall back, never for mutual ones).
    let recordedPath: readonly string[] | undefined;
    let fallbackBlockedBy: ConnectFacts['fallbackBlockedBy'];
    if (wouldFallBack(account.settings, chain, credential.requireCertificate)) {
      recordedPath = (await owners.recordedChain(credential.credentialId, a.query)) ?? undefined;
      if (recordedPath) fallbackBlockedBy = blockedPath(recordedPath, await owners.trustSet(account.ancestry, a.query));
    }
    return {
      facts: { ...base, credential, settings: account.settings, chain, ...(fallbackBlockedBy ? { fallbackBlockedBy } : {}) },
      presented: certs,
      leaf,
      accountId: account.accountId,
      ancestry: account.ancestry,
      ...(recordedPath ? { recordedPath } : {}),
    };
  } catch (error) {
    // UnavailableError (no answer) or RemoteError (the owner failed): fail closed.
    return { facts: { ...base, credential: { status: 'missing' }, chain: recorded, undecidable: true }, presented: certs, leaf, accountId: undefined, ancestry: undefined, error };
  }
}
