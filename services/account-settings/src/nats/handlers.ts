// The requests account-settings answers on NATS: token → principal, account ancestry, effective
// settings, and device credential checks. Requests are decoded against the contracts by `bus.serve`;
// a thrown error with a contracts code becomes an `{ error }` reply.
import {
  AncestryRequest,
  CredentialChainGetRequest,
  CredentialChainRecordRequest,
  CredentialInspectRequest,
  CredentialVerifyRequest,
  RequestSubjects,
  SettingsGetRequest,
  TokenVerifyRequest,
  type AncestryReply,
  type CredentialInspectReply,
  type CredentialVerifyReply,
  type SettingsGetReply,
  type TokenVerifyReply,
} from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import { settingsOf, toAccount, type AccountStore } from '../db/account-store.js';
import type { LocalResolver } from '../principals.js';
import type { CredentialChecker } from '../credential-check.js';

export function serveRequests(bus: Bus, d: { store: AccountStore; resolver: LocalResolver; credentials: CredentialChecker }): void {
  bus.serve(RequestSubjects.TokenVerify, TokenVerifyRequest, async (req): Promise<TokenVerifyReply> => ({ principal: await d.resolver.principal(req.token) }));

  bus.serve(RequestSubjects.AccountAncestry, AncestryRequest, async (req): Promise<AncestryReply> => ({
    ancestry: (await d.store.ancestry(req.accountId)).map(toAccount),
  }));

  bus.serve(RequestSubjects.SettingsGet, SettingsGetRequest, async (req): Promise<SettingsGetReply> => {
    const ancestry = await d.store.ancestry(req.accountId);
    return { accountId: req.accountId, settings: settingsOf(ancestry[0]!), ancestry: ancestry.map((a) => a.id) };
  });

  bus.serve(RequestSubjects.CredentialVerify, CredentialVerifyRequest, (req): Promise<CredentialVerifyReply> => d.credentials.verify(req));
  // A dry run's credential question (broker, docs/broker.md): no side effect, scoped to one account's subtree.
  bus.serve(RequestSubjects.CredentialInspect, CredentialInspectRequest, (req): Promise<CredentialInspectReply> => d.credentials.inspect(req));

  bus.serve(RequestSubjects.CredentialChainRecord, CredentialChainRecordRequest, async (req) => ({
    recorded: await d.store.recordChain(req.credentialId, req.path, new Date(req.seenAt)),
  }));
  bus.serve(RequestSubjects.CredentialChainGet, CredentialChainGetRequest, async (req) => ({ path: await d.store.chainOf(req.credentialId) }));
}
