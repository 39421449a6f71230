// Wiring only: config → logger → telemetry → Broker.start; SIGINT/SIGTERM stop it in reverse.
import { loadConfig } from '@twoway/config';
import { createLogger, startTelemetry } from '@twoway/telemetry';
import { brokerSettings } from './config.js';
import { Broker } from './service.js';

const cfg = loadConfig(brokerSettings, process.env);
const log = createLogger('broker', cfg.logLevel);
const telemetry = await startTelemetry('broker', cfg.otelEnabled);
try {
  const broker = await Broker.start(cfg, { log });
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    void broker
      .stop()
      .then(() => telemetry.stop())
      .then(() => process.exit(0), (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  log.fatal({ err }, 'broker failed to start');
  await telemetry.stop();
  process.exit(1);
}
