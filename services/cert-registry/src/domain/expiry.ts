// When the expiry scan audits a registration: once when its notAfter comes within the warning window
// (`cert.expiring`), once when it has passed (`cert.expired`). What was audited is kept with the
// registration (`expiryNotice`), so each crossing is audited once, whatever the number of scans,
// restarts or replicas. Pure: time and window passed in.
import { ExpiryStates, expiryOf, type CertStatus } from '@twoway/contracts';
import type { ExpiryNotice } from '../db/entities.js';

export interface ExpiryFacts {
  notAfter: Date;
  status: CertStatus;
  expiryNotice?: ExpiryNotice | null;
}

/**
 * The notice due now, if any. A revoked registration is not warned about (it is not trusted by intent,
 * and nobody renews it); restored, it is warned about at the next scan like any other. A registration
 * first seen already expired gets only `cert.expired`.
 */
export function expiryNoticeDue(c: ExpiryFacts, now: Date, windowDays: number): ExpiryNotice | undefined {
  if (c.status === 'REVOKED') return undefined;
  const state = expiryOf(c.notAfter.getTime(), now.getTime(), windowDays);
  if (state === ExpiryStates.Expired) return c.expiryNotice === 'expired' ? undefined : 'expired';
  if (state === ExpiryStates.Expiring) return c.expiryNotice ? undefined : 'expiring';
  return undefined;
}
