// Certificate status transitions (docs/design.md §1): every move among VALID, SUSPENDED and REVOKED is
// allowed, REVOKED → VALID included (revocation is local to twoway and reversible by intent).
import type { CertStatus } from '@twoway/contracts';

export type StatusChange = { changed: false } | { changed: true; before: CertStatus; after: CertStatus };

/** Setting the status it already has is a no-op: no history row, no event. */
export function planStatusChange(before: CertStatus, after: CertStatus): StatusChange {
  return before === after ? { changed: false } : { changed: true, before, after };
}
