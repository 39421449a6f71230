// A dry run of the connect decision (docs/broker.md, "Dry run"): steps 1 and 2 of index.ts —
// gather-facts and decide, the code a CONNECT runs, on this replica's warm caches — for a chain and
// CONNECT fields an operator supplied. Three differences, all on the side of doing less:
//   - the credential is inspected, not verified: account-settings counts no failure, remembers nothing,
//     and finds only a credential of the account asked about or below it (a token never learns of
//     another tenant's devices); without a password, the password is assumed right and the answer says so;
//   - nothing is recorded: no session, no connect audit event (cert-registry audits the dry run itself),
//     no decision metric, no recorded chain;
//   - the answer says how it was reached: every certificate with the registrations it matched, the path,
//     the settings that applied and what the dry run could not know.
import { ConnectReasons, reasonExplanation, reasonFix, type DryRunCertificate, type DryRunPathEntry, type DryRunRegistration, type DryRunRequest, type DryRunResult } from '@twoway/contracts';
import { validateChain, type ParsedCert, type ValidationResult } from '@twoway/pki';
import type { TrustSnapshot } from '../cache/trust-cache.js';
import type { Owners } from '../nats/owners.js';
import type { ChainFacts } from './decide.js';
import type { Validate } from './evaluate-chain.js';
import { chainFactsFor, usesCertificates, type ConnectAttempt, type CredentialSource } from './gather-facts.js';
import { gatherAndDecide } from './index.js';

export interface DryRunDeps {
  owners: Owners;
  validate?: Validate;
  staleAfterMs: number;
  /** This replica's id, named in the answer. */
  replica: string;
  natsDownSinceMs(): number | undefined;
  now?: () => number;
}

function validity(c: ParsedCert, at: Date): DryRunCertificate['validity'] {
  // RFC 5280 §4.1.2.5: both bounds inclusive, at one-second resolution (as libs/pki decides).
  const s = Math.floor(at.getTime() / 1000);
  if (s < Math.floor(c.notBefore.getTime() / 1000)) return 'not_yet_valid';
  if (s > Math.floor(c.notAfter.getTime() / 1000)) return 'expired';
  return 'valid';
}

/** The registrations a certificate matched: its own fingerprint, and other registered copies of the same CA (whose status it shares). */
function registrationsOf(c: ParsedCert, trust: TrustSnapshot | undefined, owner: string): DryRunRegistration[] {
  if (!trust) return [];
  const fps = new Set([c.fingerprint, ...(c.isCa ? trust.allAnchors.sameCa(c).map((x) => x.fingerprint) : [])]);
  return [...fps].flatMap((fp) => trust.registrationsOf(fp).map((r) => ({ ...r, inherited: r.accountId !== owner })));
}

function certificate(c: ParsedCert, trust: TrustSnapshot | undefined, owner: string, at: Date): DryRunCertificate {
  return {
    subject: c.subject,
    issuer: c.issuer,
    fingerprint: c.fingerprint,
    serial: c.serial,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    kind: c.kind,
    keyType: c.keyType,
    validity: validity(c, at),
    registrations: registrationsOf(c, trust, owner),
  };
}

/**
 * The validator's own account of the chain: for a verified chain the result whose path it is, for an
 * untrusted one the failure the decision reported (its words and best candidate path).
 */
function validatorResult(chain: ChainFacts, seen: readonly ValidationResult[]): ValidationResult | undefined {
  const fps = (p: readonly ParsedCert[] | undefined) => (p ?? []).map((c) => c.fingerprint).join(',');
  if (chain.kind === 'trusted' || chain.kind === 'blocked') {
    const want = chain.path.join(',');
    return [...seen].reverse().find((r) => fps(r.path) === want || fps(r.setAside) === want);
  }
  if (chain.kind === 'untrusted') return [...seen].reverse().find((r) => !r.valid && r.reason === chain.reason);
  return undefined;
}

export async function dryRun(req: DryRunRequest, d: DryRunDeps): Promise<DryRunResult> {
  const nowMs = (d.now ?? Date.now)();
  const at = new Date(nowMs);
  // The validator's results, in order: the decision keeps only their reason, the answer wants their words and paths.
  const seen: ValidationResult[] = [];
  const base = d.validate ?? validateChain;
  const validate: Validate = async (input) => {
    const r = await base(input);
    seen.push(r);
    return r;
  };
  const passwordGiven = req.password !== undefined;
  let passwordChecked = false;
  const credentials: CredentialSource = {
    verifyCredential: async (key, kind, password, _sourceAddress, now, q, chainVerified) => {
      const r = await d.owners.inspectCredential(key, kind, passwordGiven ? password : undefined, req.accountId, now, q, chainVerified);
      passwordChecked = r.passwordChecked;
      return r;
    },
  };
  const attempt: ConnectAttempt = {
    clientId: req.clientId ?? '',
    username: req.username || undefined,
    // gatherFacts asks for a credential only when the device sends a password; without one given, the
    // inspection above checks none, and the answer says the decision assumed it right.
    password: Buffer.from(req.password ?? '', 'utf8'),
    peerChain: req.chain.map((b64) => new Uint8Array(Buffer.from(b64, 'base64'))),
    sourceAddress: undefined,
    transport: 'tls',
    nowMs,
    natsDownSinceMs: d.natsDownSinceMs(),
  };
  const { g, decision } = await gatherAndDecide(attempt, { owners: d.owners, validate, staleAfterMs: d.staleAfterMs, credentials });
  const notes: string[] = [];

  // Whose anchors and settings to show: the credential's account; when no credential decided it, the
  // account asked about, with the chain evaluated for information (the decision did not get that far).
  let chain = g.facts.chain;
  let settings = g.facts.settings;
  let ancestry = g.facts.settings ? g.ancestry : undefined;
  let evaluatedFor = g.facts.settings ? g.accountId : undefined;
  if (!g.error && !g.facts.settings) {
    const account = await d.owners.settings(g.accountId ?? req.accountId);
    settings = account.settings;
    ancestry = account.ancestry;
    const malformed = chain.kind === 'untrusted' && chain.reason === ConnectReasons.CERT_MALFORMED;
    if (g.presented.length > 0 && !malformed && usesCertificates(account.settings)) {
      chain = await chainFactsFor(g.presented, false, account, d.owners, at, validate);
      evaluatedFor = account.accountId;
      notes.push(`The credential decided before the certificate was looked at; the chain is shown as the anchors of account ${account.accountId} judge it.`);
    }
  }
  const trust = ancestry && g.presented.length > 0 ? await d.owners.trustSet(ancestry) : undefined;
  // Registrations of accounts above this one are inherited anchors (docs/design.md §1).
  const decidedFor = g.accountId;
  const owner = evaluatedFor ?? decidedFor ?? req.accountId;
  const result = validatorResult(chain, seen);
  const parsed = new Map<string, ParsedCert>();
  for (const c of [...g.presented, ...(result?.path ?? []), ...(result?.setAside ?? [])]) parsed.set(c.fingerprint, c);
  const presentedFps = new Set(g.presented.map((c) => c.fingerprint));
  const pathFps = chain.kind === 'trusted' || chain.kind === 'blocked' ? chain.path : (result?.path ?? []).map((c) => c.fingerprint);
  const path: DryRunPathEntry[] = pathFps.flatMap((fp, i) => {
    const c = parsed.get(fp);
    if (!c) return [];
    const role = i === 0 ? 'leaf' : i === pathFps.length - 1 ? 'anchor' : 'intermediate';
    return [{ ...certificate(c, trust, owner, at), role, from: presentedFps.has(fp) ? 'presented' : 'registered' } satisfies DryRunPathEntry];
  });
  const blocked = chain.kind === 'blocked' ? chain.fingerprint : decision.outcome === 'rejected' ? g.facts.fallbackBlockedBy?.fingerprint : undefined;
  if (decision.outcome === 'rejected' && g.facts.fallbackBlockedBy && g.recordedPath)
    notes.push(`The device's credential last connected with the chain ${g.recordedPath.join(' → ')}; a certificate on it is ${decision.reason.endsWith('REVOKED') ? 'revoked' : 'suspended'}, so it may not fall back to its password.`);

  const cred = g.facts.credential;
  const credentialAccount = cred.status === 'ok' || cred.status === 'refused' ? cred.accountId : undefined;
  const found = credentialAccount !== undefined;
  let passwordNote: string | undefined;
  if (!passwordGiven && found) {
    const username = cred.status === 'ok' ? cred.username : req.username;
    passwordNote = `No password was given: the decision assumes the device sends the right one. The password check needs the current password of credential "${username ?? ''}" (account ${credentialAccount}); a wrong one is refused ${ConnectReasons.BAD_CREDENTIALS}.`;
  } else if (passwordGiven && found && !passwordChecked) passwordNote = `The password was not checked: the credential was refused ${decision.reason} first.`;
  else if (cred.status === 'refused' && !found) passwordNote = 'No credential of this account or below it matches, so no password could be checked.';
  else if (cred.status === 'missing' && !g.error) passwordNote = 'Neither a username nor a certificate named a credential to check a password against.';
  if (req.clientId === undefined) notes.push('No client id was given: decided as for a device that sends none.');
  if (g.error) notes.push(`An owning service did not answer (${(g.error as Error).name ?? 'Error'}): refused ${ConnectReasons.UNDECIDABLE}, as a connect would be right now.`);
  notes.push('Lockouts per source address are not evaluated: a dry run has no address.');

  const mutual = settings ? settings.mutualTls.available && settings.mutualTls.enabled : false;
  const fallback = decision.outcome === 'accepted' && decision.mode === 'fallback' ? 'used' : settings && mutual && settings.tls.enabled && settings.identity.credentialLookup === 'username' ? 'available' : 'off';
  const detail = decision.outcome === 'rejected' && g.facts.fallbackBlockedBy ? { fallbackRefused: true } : undefined;
  const fix = reasonFix(decision.reason);
  return {
    decision: decision.outcome === 'accepted' ? 'admit' : 'refuse',
    reason: decision.reason,
    ...(decision.outcome === 'rejected' ? { returnCode: decision.returnCode } : { mode: decision.mode }),
    explanation: reasonExplanation(decision.reason, detail) ?? decision.reason,
    ...(fix ? { fix } : {}),
    account: decidedFor ?? null,
    credential: {
      found,
      ...(cred.status === 'ok' ? { key: cred.keyKind, username: cred.username } : {}),
      ...(credentialAccount ? { accountId: credentialAccount } : {}),
    },
    password: { checked: passwordChecked, ...(passwordNote ? { note: passwordNote } : {}) },
    chain: {
      status: chain.kind,
      ...('reason' in chain ? { reason: chain.reason } : {}),
      ...(result?.detail && chain.kind === 'untrusted' ? { detail: result.detail } : {}),
      ...(evaluatedFor && chain.kind !== 'none' && chain.kind !== 'not_evaluated' ? { evaluatedFor } : {}),
      presented: g.presented.map((c) => certificate(c, trust, owner, at)),
      path,
      ...(blocked ? { blockedBy: { fingerprint: blocked } } : {}),
    },
    settings: settings ? { ...settings, fallback } : null,
    notes,
    replica: d.replica,
    decidedAt: at.toISOString(),
  };
}
