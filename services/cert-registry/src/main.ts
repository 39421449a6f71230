// Entry point of the cert-registry process: `node --import tsx services/cert-registry/src/main.ts`.
// Wiring only: settings → logger → telemetry → service; SIGINT/SIGTERM stop it in reverse.
import { loadConfig } from '@twoway/config';
import { createLogger, startTelemetry } from '@twoway/telemetry';
import { certRegistrySettings, SERVICE_NAME } from './config.js';
import { CertRegistryService } from './service.js';

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = loadConfig(certRegistrySettings, process.env);
  } catch (e) {
    console.error(String((e as Error).message));
    process.exit(1);
  }
  const log = createLogger(SERVICE_NAME, cfg.logLevel);
  const telemetry = await startTelemetry(SERVICE_NAME, cfg.otelEnabled);
  let service: CertRegistryService;
  try {
    service = await CertRegistryService.start(cfg, { log });
  } catch (e) {
    log.fatal({ err: e }, 'cert-registry failed to start');
    await telemetry.stop();
    process.exit(1);
  }
  const shutdown = (signal: string) => {
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
}

await main();
