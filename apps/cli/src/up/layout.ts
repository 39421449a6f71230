// How `twoway up` lays out the services in processes. By default account-settings, cert-registry,
// audit and the gateway share one process (libs/runtime host.ts) and the broker and nats-server keep
// their own: the whole system at rest in about half the memory of one process per service. One
// process per service is asked for with --separate (or TWOWAY_COMBINED=false), and is chosen by itself
// when tracing is on: the OpenTelemetry SDK is one per process, so a shared process cannot say which
// service a span came from.

export interface Layout {
  combined: boolean;
  /** Why one process per service was chosen without being asked for, to be said at start. */
  note?: string;
}

export class LayoutConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayoutConflictError';
  }
}

// As every TWOWAY_* boolean reads (libs/config schema.ts).
const word = (v: string | undefined) => (v ?? '').trim().toLowerCase();
const isTrue = (v: string | undefined) => ['1', 'true', 'yes', 'on'].includes(word(v));
const isFalse = (v: string | undefined) => ['0', 'false', 'no', 'off'].includes(word(v));

export function chooseLayout(flags: { combined?: boolean; separate?: boolean }, env: NodeJS.ProcessEnv): Layout {
  if (flags.combined && flags.separate) throw new LayoutConflictError('--combined and --separate: choose one');
  const fromEnv = env.TWOWAY_COMBINED;
  if (word(fromEnv) !== '' && !isTrue(fromEnv) && !isFalse(fromEnv)) {
    throw new LayoutConflictError(`TWOWAY_COMBINED must be true or false, not ${JSON.stringify(fromEnv)}`);
  }
  const tracing = isTrue(env.TWOWAY_OTEL_ENABLED);
  if (flags.separate) return { combined: false };
  if (flags.combined || isTrue(fromEnv)) {
    if (tracing) throw new LayoutConflictError('TWOWAY_OTEL_ENABLED needs one process per service (the OpenTelemetry SDK is one per process): drop --combined / TWOWAY_COMBINED=true');
    return { combined: true };
  }
  if (isFalse(fromEnv)) return { combined: false };
  if (tracing) return { combined: false, note: 'one process per service: TWOWAY_OTEL_ENABLED is set, and the OpenTelemetry SDK is one per process' };
  return { combined: true };
}
