// Entry point of the gateway process: `node --import tsx services/gateway/src/main.ts`.
// Wiring only; the lifecycle (settings, logs, telemetry, signals) is libs/runtime's.
import { runService } from '@twoway/runtime';
import { gatewaySchema } from './config.js';
import { Gateway } from './service.js';

await runService({
  name: 'gateway',
  schema: gatewaySchema,
  start: (cfg, { log, telemetry }) => Gateway.start(cfg, { log, telemetry }),
  describe: (g) => ({ url: g.httpUrl }),
});
