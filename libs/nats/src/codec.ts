// JSON on the wire, validated with the contract's schema where a message enters a service.
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const enc = new TextEncoder();
const dec = new TextDecoder();

export class MessageInvalidError extends Error {
  override name = 'MessageInvalidError';
  readonly code = 'BAD_REQUEST' as const;
  constructor(readonly subject: string, readonly problems: string[]) {
    super(`message on ${subject} does not match its schema: ${problems.slice(0, 3).join('; ')}`);
  }
}

export const encode = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));

export function decode<S extends TSchema>(schema: S, data: Uint8Array, subject: string): Static<S> {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    throw new MessageInvalidError(subject, ['not JSON']);
  }
  if (!Value.Check(schema, v)) {
    const problems = [...Value.Errors(schema, v)].slice(0, 5).map((e) => `${e.path || '/'} ${e.message}`);
    throw new MessageInvalidError(subject, problems);
  }
  return v as Static<S>;
}
