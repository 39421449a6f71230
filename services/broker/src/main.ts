// Entry point of a broker replica: `node --import tsx services/broker/src/main.ts`.
// Wiring only; the lifecycle (settings, logs, telemetry, signals) is libs/runtime's.
import { runService } from '@twoway/runtime';
import { brokerSettings } from './config.js';
import { Broker, natsCluster } from './service.js';

await runService({
  name: 'broker',
  schema: brokerSettings,
  start: (cfg, { log, telemetry, fatal }) => Broker.start(cfg, { log, telemetry, cluster: natsCluster, onFatal: fatal }),
  describe: (b) => ({ mqttPort: b.mqttPort, wssPort: b.wssPort, httpUrl: b.httpUrl }),
});
