// JetStream answers nothing useful for a few seconds after a cluster (or one node of it) starts: no
// meta leader yet (503 no responders, API timeouts), or not enough peers joined to place an R3 stream.
// Services that start together with NATS, as they do on Kubernetes, wait that out instead of exiting
// and crash-looping; any other error ends the start at once.

/** Errors JetStream gives while its cluster is still forming or electing; anything else is final. */
export function isFormingError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; api_error?: { err_code?: number; description?: string } } | undefined;
  const code = String(e?.code ?? '');
  if (code === '503' || code === 'TIMEOUT') return true;
  // 10008: JetStream temporarily unavailable; 10005 / 10023: insufficient resources / no suitable peers.
  const errCode = e?.api_error?.err_code;
  if (errCode === 10008 || errCode === 10005 || errCode === 10023) return true;
  return /timeout|no responders|temporarily unavailable|insufficient resources|no suitable peers|leader/i.test(String(e?.message ?? ''));
}

export interface FormingOptions {
  /** Give up (and throw the last error) after this long; TWOWAY_NATS_START_TIMEOUT_MS. */
  timeoutMs: number;
  what: string;
  log?: { warn(o: object, m: string): void };
  /** First wait between attempts; doubled up to 2 s. */
  firstDelayMs?: number;
}

/** Run `fn` until it succeeds, retrying the errors of a forming JetStream cluster within `timeoutMs`. */
export async function whileJetStreamForms<T>(fn: () => Promise<T>, o: FormingOptions): Promise<T> {
  const until = Date.now() + o.timeoutMs;
  let delay = o.firstDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isFormingError(err) || Date.now() + delay > until) throw err;
      o.log?.warn({ err: { code: (err as { code?: unknown }).code, message: (err as Error).message }, attempt, what: o.what }, 'JetStream not ready yet (cluster forming?): trying again');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
