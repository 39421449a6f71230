// Wiring only: config → logger → gateway; stop on SIGINT/SIGTERM.
import { loadConfig } from '@twoway/config';
import { createLogger } from '@twoway/telemetry';
import { gatewaySchema } from './config.js';
import { Gateway } from './service.js';

const cfg = loadConfig(gatewaySchema, process.env);
const log = createLogger('gateway', cfg.logLevel);
try {
  const gw = await Gateway.start(cfg, { log });
  log.info({ url: gw.httpUrl }, 'gateway listening');
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await gw.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (err) {
  log.fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
