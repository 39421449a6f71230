// Live sessions, indexed so a change event finds its sessions at once: by every fingerprint of the
// validated path (suspending an intermediate or root reaches every device below it) and the CA identity
// of each of its certificates (suspending one copy of a CA reaches the devices verified through another
// copy, as the connect decision refuses them), by account and by credential.
import type { Client } from 'aedes';
import type { MqttTransport } from '@twoway/contracts';
import type { ParsedCert } from '@twoway/pki';
import type { ConnectFacts, LeafFacts, Mode } from '../connect/decide.js';
import type { SessionTopics } from '../topic-rules/denials.js';

export interface Session {
  readonly id: string;
  readonly client: Client;
  readonly clientId: string;
  readonly accountId: string;
  readonly ancestry: readonly string[];
  readonly credentialId: string;
  readonly username: string | undefined;
  readonly sourceAddress: string | undefined;
  readonly transport: MqttTransport;
  /** The validated path, leaf-first anchor-last (empty for plain and fallback sessions). */
  readonly fingerprints: readonly string[];
  /**
   * The identity (subject and key, libs/pki caIdentityOf) of each certificate of the validated path: status
   * follows the CA, so a change to any registered copy concerns the session (empty as `fingerprints` is, and
   * for a fallback session, whose recorded path is checked by fingerprint only).
   */
  readonly caIdentities: readonly string[];
  readonly presented: readonly ParsedCert[];
  readonly malformed: boolean;
  readonly leaf: LeafFacts | undefined;
  readonly mode: Mode;
  /** The facts it was admitted on (no password: the credential is kept as its verified outcome). */
  facts: ConnectFacts;
  ending: boolean;
  /** Its topic permissions, compiled at connect from the account's rules (topic-rules/). */
  topics?: SessionTopics;
}

class MultiIndex {
  private readonly m = new Map<string, Set<Session>>();
  add(k: string, s: Session): void {
    let set = this.m.get(k);
    if (!set) this.m.set(k, (set = new Set()));
    set.add(s);
  }
  remove(k: string, s: Session): void {
    const set = this.m.get(k);
    if (!set) return;
    set.delete(s);
    if (!set.size) this.m.delete(k);
  }
  get(k: string): Session[] {
    return [...(this.m.get(k) ?? [])];
  }
  values(k: string): Iterable<Session> {
    return this.m.get(k) ?? [];
  }
}

export class SessionRegistry {
  private readonly byClient = new Map<Client, Session>();
  private readonly byFingerprint = new MultiIndex();
  private readonly byCaIdentity = new MultiIndex();
  private readonly byAccount = new MultiIndex();
  private readonly byCredential = new MultiIndex();

  add(s: Session): void {
    this.byClient.set(s.client, s);
    for (const fp of new Set(s.fingerprints)) this.byFingerprint.add(fp, s);
    for (const id of new Set(s.caIdentities)) this.byCaIdentity.add(id, s);
    this.byAccount.add(s.accountId, s);
    this.byCredential.add(s.credentialId, s);
  }
  remove(client: Client): Session | undefined {
    const s = this.byClient.get(client);
    if (!s) return undefined;
    this.byClient.delete(client);
    for (const fp of new Set(s.fingerprints)) this.byFingerprint.remove(fp, s);
    for (const id of new Set(s.caIdentities)) this.byCaIdentity.remove(id, s);
    this.byAccount.remove(s.accountId, s);
    this.byCredential.remove(s.credentialId, s);
    return s;
  }
  get(client: Client): Session | undefined {
    return this.byClient.get(client);
  }
  withFingerprint(fp: string): Session[] {
    return this.byFingerprint.get(fp);
  }
  /**
   * The sessions a change of the registration `fingerprint` in `accountId` concerns: those whose verified
   * path holds it or, given its `caIdentity`, another certificate of the same CA (same subject and key: a
   * renewed or cross-signed copy), in that account or below (a registration covers its subtree).
   */
  concernedBy(fingerprint: string, accountId: string, caIdentity?: string): Session[] {
    const found = new Set(this.byFingerprint.get(fingerprint));
    if (caIdentity !== undefined) for (const s of this.byCaIdentity.get(caIdentity)) found.add(s);
    return [...found].filter((s) => s.ancestry.includes(accountId));
  }
  /** The CA identity of a certificate on a live session's verified path, by its fingerprint (undefined: on none). */
  identityOnPath(fingerprint: string): string | undefined {
    for (const s of this.byFingerprint.values(fingerprint)) {
      // A fallback session's recorded path has no identities.
      if (s.caIdentities.length === s.fingerprints.length) return s.caIdentities[s.fingerprints.indexOf(fingerprint)];
    }
    return undefined;
  }
  /** Is any session of `accountId` or below held by a verified path (one a CA's change can concern)? */
  hasPathBelow(accountId: string): boolean {
    for (const s of this.byClient.values()) if (s.caIdentities.length > 0 && s.ancestry.includes(accountId)) return true;
    return false;
  }
  ofAccount(accountId: string): Session[] {
    return this.byAccount.get(accountId);
  }
  ofCredential(credentialId: string): Session[] {
    return this.byCredential.get(credentialId);
  }
  all(): Session[] {
    return [...this.byClient.values()];
  }
  get size(): number {
    return this.byClient.size;
  }
}
