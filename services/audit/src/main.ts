// Entry point of the audit service: config → telemetry → start; SIGINT/SIGTERM stop it in reverse.
//   node --import tsx services/audit/src/main.ts
import { ConfigError, loadConfig } from '@twoway/config';
import { DatabaseUrlError } from '@twoway/persistence';
import { createLogger, startTelemetry } from '@twoway/telemetry';
import { auditSettings, type AuditConfig } from './config.js';
import { AuditService } from './service.js';

let cfg: AuditConfig;
try {
  cfg = loadConfig(auditSettings, process.env);
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`audit: ${e.message}\n`);
  process.exit(1);
}
const log = createLogger('audit', cfg.logLevel);
const telemetry = await startTelemetry('audit', cfg.otelEnabled);

let service: AuditService;
try {
  service = await AuditService.start(cfg, { log, telemetry });
} catch (e) {
  // DatabaseUrlError keeps the raw URL (with any password) as a field: log its masked message only.
  log.fatal({ err: e instanceof DatabaseUrlError ? { name: e.name, message: e.message } : e }, 'audit service failed to start');
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
