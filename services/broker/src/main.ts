// Wiring only: config → logger → telemetry → Broker.start; SIGINT/SIGTERM stop it in reverse.
import { loadConfig } from '@twoway/config';
import { createLogger, startTelemetry } from '@twoway/telemetry';
import { brokerSettings } from './config.js';
import { Broker, natsCluster } from './service.js';

const cfg = loadConfig(brokerSettings, process.env);
const log = createLogger('broker', cfg.logLevel);
const telemetry = await startTelemetry('broker', cfg.otelEnabled);
try {
  let stop: (code: number) => void = (code) => process.exit(code);
  const broker = await Broker.start(cfg, {
    log,
    cluster: natsCluster,
    onFatal: (err) => {
      log.fatal({ err }, 'broker cannot continue; stopping');
      stop(1);
    },
  });
  stop = (code) => {
    void broker
      .stop()
      .then(() => telemetry.stop())
      .then(() => process.exit(code), (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      });
  };
  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    stop(0);
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  log.fatal({ err }, 'broker failed to start');
  await telemetry.stop();
  process.exit(1);
}
