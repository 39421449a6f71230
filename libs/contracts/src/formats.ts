// String formats used by the schemas, registered with TypeBox so that `Value.Check` (NATS decoding)
// accepts them; TypeBox rejects a value whose format is unknown. fastify's ajv has its own formats.
import { FormatRegistry } from '@sinclair/typebox';

/** RFC 3339 §5.6 date-time (`2026-11-23T10:57:40Z`, `…40.123+01:00`), with a real calendar date. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function isDateTime(v: string): boolean {
  const m = DATE_TIME.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 60) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d >= 1 && d <= days;
}

if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isDateTime);
