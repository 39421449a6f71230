// Answers the broker's trust query: every registration of the given accounts (the device's account
// and its ancestors), any status — the broker needs SUSPENDED and REVOKED entries too, to refuse a
// chain that passes through one of them (DESIGN.md §1, rule 2).
import { RequestSubjects, TrustSetRequest, type TrustSetReply } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import type { CertificateStore } from '../db/certificate-store.js';

export function serveTrustSet(bus: Bus, store: CertificateStore): void {
  bus.serve(RequestSubjects.TrustSetGet, TrustSetRequest, async (req): Promise<TrustSetReply> => ({
    entries: await store.trustSet(req.accountIds),
  }));
}
