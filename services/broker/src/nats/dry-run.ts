// Answers `twoway.v1.connect.dry_run` (queue group: one replica answers each): a dry run of the connect
// decision on this replica's warm caches (connect/dry-run.ts), asked by cert-registry's REST route.
// Bounded per replica: a dry run can cost a password hash in account-settings and a chain validation
// here, so a few run at once and the rest wait briefly or are answered OVERLOADED (docs/limits.md).
import { DryRunRequest, RequestSubjects } from '@twoway/contracts';
import type { Bus } from '@twoway/nats';
import type { BrokerMetrics } from '../http/metrics.js';
import { dryRun, type DryRunDeps } from '../connect/dry-run.js';

export const DRY_RUN_SERVE_LIMITS = { maxConcurrent: 4, maxQueued: 32 } as const;

export function serveDryRun(bus: Bus, deps: DryRunDeps, metrics: BrokerMetrics): void {
  bus.serve(
    RequestSubjects.ConnectDryRun,
    DryRunRequest,
    async (req) => {
      const r = await dryRun(req, deps);
      metrics.dryRuns.inc({ decision: r.decision, reason: r.reason });
      return r;
    },
    { limits: DRY_RUN_SERVE_LIMITS },
  );
}
