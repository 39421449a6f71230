// account-settings process: configuration → logger → telemetry → service; SIGINT/SIGTERM stop it.
import { loadConfig } from '@twoway/config';
import { createLogger, startTelemetry } from '@twoway/telemetry';
import { configSchema } from './config.js';
import { AccountSettingsService, SERVICE_NAME } from './service.js';

const cfg = loadConfig(configSchema, process.env);
const log = createLogger(SERVICE_NAME, cfg.logLevel);
const telemetry = await startTelemetry(SERVICE_NAME, cfg.otelEnabled);

let service: AccountSettingsService;
try {
  service = await AccountSettingsService.start(cfg, { log });
} catch (e) {
  log.fatal({ err: e }, 'account-settings failed to start');
  await telemetry.stop();
  process.exit(1);
}

const shutdown = (signal: string): void => {
  log.info({ signal }, 'stopping');
  service
    .stop()
    .then(() => telemetry.stop())
    .then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'stop failed');
        process.exit(1);
      },
    );
};
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
