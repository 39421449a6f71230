// Schema-driven settings: each key declares its TWOWAY_* variable, type, default and one line of
// doc. `loadConfig` reports every problem at once and returns a frozen, typed object.

type Kind = 'string' | 'int' | 'bool' | 'url' | 'path' | 'list';
type TypeOf<K extends Kind> = K extends 'int' ? number : K extends 'bool' ? boolean : K extends 'list' ? string[] : string;

export interface Setting<K extends Kind = Kind> {
  env: string;
  kind: K;
  doc: string;
  /** Absent means required (or optional when `optional` is set). */
  default?: TypeOf<K>;
  optional?: boolean;
  /** Secrets are never printed by `describe`/errors. */
  secret?: boolean;
  min?: number;
  max?: number;
}

export type Schema = Record<string, Setting>;
export type ConfigOf<S extends Schema> = {
  readonly [P in keyof S]: S[P] extends Setting<infer K>
    ? S[P]['optional'] extends true
      ? TypeOf<K> | undefined
      : TypeOf<K>
    : never;
};

export const setting = <K extends Kind>(s: Setting<K>): Setting<K> => s;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

function parse(s: Setting, raw: string): { value?: unknown; problem?: string } {
  switch (s.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) return { problem: `${s.env} must be an integer` };
      const n = Number(raw);
      if (s.min !== undefined && n < s.min) return { problem: `${s.env} must be >= ${s.min}` };
      if (s.max !== undefined && n > s.max) return { problem: `${s.env} must be <= ${s.max}` };
      return { value: n };
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true };
      if (['0', 'false', 'no', 'off', ''].includes(v)) return { value: false };
      return { problem: `${s.env} must be true or false` };
    }
    case 'url':
      try {
        new URL(raw);
        return { value: raw };
      } catch {
        return { problem: `${s.env} must be a URL` };
      }
    case 'list':
      return { value: raw.split(',').map((x) => x.trim()).filter(Boolean) };
    default:
      return { value: raw };
  }
}

export function loadConfig<S extends Schema>(schema: S, env: Record<string, string | undefined> = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, s] of Object.entries(schema)) {
    const raw = env[s.env];
    if (raw === undefined || raw === '') {
      if (s.default !== undefined) out[key] = s.default;
      else if (s.optional) out[key] = undefined;
      else problems.push(`${s.env} is required: ${s.doc}`);
      continue;
    }
    const r = parse(s, raw);
    if (r.problem) problems.push(r.problem);
    else out[key] = r.value;
  }
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** Rows for the README's settings table (checked against the schemas by a test). */
export function describe(schema: Schema): { env: string; default: string; doc: string }[] {
  return Object.values(schema).map((s) => ({
    env: s.env,
    default: s.secret ? '(generated)' : s.default === undefined ? '' : Array.isArray(s.default) ? s.default.join(',') : String(s.default),
    doc: s.doc,
  }));
}
