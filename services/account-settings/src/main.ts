// Entry point of the account-settings process: `node --import tsx services/account-settings/src/main.ts`.
// Wiring only; the lifecycle (settings, logs, telemetry, signals) is libs/runtime's.
import { runService } from '@twoway/runtime';
import { configSchema } from './config.js';
import { AccountSettingsService, SERVICE_NAME } from './service.js';

await runService({
  name: SERVICE_NAME,
  schema: configSchema,
  start: (cfg, { log, telemetry }) => AccountSettingsService.start(cfg, { log, telemetry }),
  describe: (s) => ({ httpUrl: s.httpUrl }),
});
