// Entry point of the audit process: `node --import tsx services/audit/src/main.ts`.
// Wiring only; the lifecycle (settings, logs, telemetry, signals) is libs/runtime's.
import { runService } from '@twoway/runtime';
import { auditSettings } from './config.js';
import { AuditService } from './service.js';

await runService({
  name: 'audit',
  schema: auditSettings,
  start: (cfg, { log, telemetry }) => AuditService.start(cfg, { log, telemetry }),
  describe: (s) => ({ httpUrl: s.httpUrl }),
});
