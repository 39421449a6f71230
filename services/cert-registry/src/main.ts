// Entry point of the cert-registry process: `node --import tsx services/cert-registry/src/main.ts`.
// Wiring only; the lifecycle (settings, logs, telemetry, signals) is libs/runtime's.
import { runService } from '@twoway/runtime';
import { certRegistrySettings, SERVICE_NAME } from './config.js';
import { CertRegistryService } from './service.js';

await runService({
  name: SERVICE_NAME,
  schema: certRegistrySettings,
  start: (cfg, { log, telemetry }) => CertRegistryService.start(cfg, { log, telemetry }),
  describe: (s) => ({ url: s.httpUrl }),
});
