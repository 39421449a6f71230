// Entry point of the audit service: config → telemetry → start; SIGINT/SIGTERM stop it in reverse.
//   node --import tsx services/audit/src/main.ts
import { loadConfig } from '@twoway/config';
import { createLogger, startTelemetry } from '@twoway/telemetry';
import { auditSettings } from './config.js';
import { AuditService } from './service.js';

const cfg = loadConfig(auditSettings, process.env);
const log = createLogger('audit', cfg.logLevel);
const telemetry = await startTelemetry('audit', cfg.otelEnabled);

let service: AuditService;
try {
  service = await AuditService.start(cfg, { log, telemetry });
} catch (e) {
  log.fatal({ err: e }, 'audit service failed to start');
  await telemetry.stop();
  process.exit(1);
}
log.info({ httpUrl: service.httpUrl, retentionDays: cfg.retentionDays }, 'audit service started');

const shutdown = (signal: string) => {
  log.info({ signal }, 'audit service stopping');
  service
    .stop()
    .then(() => telemetry.stop())
    .then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'audit service did not stop cleanly');
        process.exit(1);
      },
    );
};
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
