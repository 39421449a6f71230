// Live sessions, indexed so a change event finds its sessions at once: by every fingerprint of the
// validated path (suspending an intermediate or root reaches every device below it), by account and
// by credential.
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
}

export class SessionRegistry {
  private readonly byClient = new Map<Client, Session>();
  private readonly byFingerprint = new MultiIndex();
  private readonly byAccount = new MultiIndex();
  private readonly byCredential = new MultiIndex();

  add(s: Session): void {
    this.byClient.set(s.client, s);
    for (const fp of new Set(s.fingerprints)) this.byFingerprint.add(fp, s);
    this.byAccount.add(s.accountId, s);
    this.byCredential.add(s.credentialId, s);
  }
  remove(client: Client): Session | undefined {
    const s = this.byClient.get(client);
    if (!s) return undefined;
    this.byClient.delete(client);
    for (const fp of new Set(s.fingerprints)) this.byFingerprint.remove(fp, s);
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
   * The sessions a status change (or deletion) of the registration `fingerprint` in `accountId` ends:
   * those whose verified path holds it, in that account or below (a registration covers its subtree).
   */
  concernedBy(fingerprint: string, accountId: string): Session[] {
    return this.byFingerprint.get(fingerprint).filter((s) => s.ancestry.includes(accountId));
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
