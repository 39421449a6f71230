// Structured JSON logs (pino) with the redaction paths set once for every service.
import { pino, type Logger } from 'pino';

/** Never logged: secrets and raw key or certificate material, wherever they appear in a log object. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password',
  'token', '*.token', '*.*.token',
  'authorization', '*.authorization', 'req.headers.authorization', 'headers.authorization',
  'key', '*.key', 'privateKey', '*.privateKey',
  'pem', '*.pem', '*.*.pem', 'certificate', '*.certificate',
  'secret', '*.secret',
];

export type { Logger };

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Certificate fields and client-supplied strings may carry control characters: escape before logging. */
export function escapeField(s: string | undefined, max = 256): string | undefined {
  if (s === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const e = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return e.length > max ? `${e.slice(0, max)}…` : e;
}
