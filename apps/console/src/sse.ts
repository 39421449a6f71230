// Server-Sent Events over fetch, because EventSource cannot carry an Authorization header.
// Parses the text/event-stream format (HTML Living Standard §9.2.6): blocks separated by a blank line,
// `data:` lines joined with "\n", `id:` remembered and sent back as Last-Event-ID on reconnect.
import type { Api } from './api.js';

export type StreamState = 'connecting' | 'open' | 'closed';

export interface SseOptions {
  onMessage(data: string, event: string): void;
  onState(state: StreamState, error?: string): void;
}

export function parseSseBlock(block: string): { event: string; data: string; id?: string } | null {
  let event = 'message';
  const data: string[] = [];
  let id: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  }
  return data.length ? { event, data: data.join('\n'), id } : null;
}

/** Follows `path` until `stop()`; reconnects with backoff (1 s doubling to 15 s) after a drop. */
export function follow(api: Api, path: string, opts: SseOptions): { stop(): void } {
  const ctrl = new AbortController();
  let lastId: string | undefined;
  let delayMs = 1000;
  let stopped = false;

  const run = async (): Promise<void> => {
    while (!stopped) {
      opts.onState('connecting');
      try {
        const res = await api.send('GET', path, undefined, ctrl.signal, {
          accept: 'text/event-stream',
          ...(lastId ? { 'last-event-id': lastId } : {}),
        });
        if (!res.body) throw new Error('The stream has no body.');
        opts.onState('open');
        delayMs = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          const blocks = buf.split(/\r?\n\r?\n/);
          buf = blocks.pop() ?? '';
          for (const b of blocks) {
            const msg = parseSseBlock(b);
            if (!msg) continue;
            if (msg.id) lastId = msg.id;
            opts.onMessage(msg.data, msg.event);
          }
        }
        if (!stopped) opts.onState('closed', 'The live stream ended; reconnecting…');
      } catch (e) {
        if (stopped) return;
        const status = (e as { status?: number }).status;
        // Authentication and permission failures will not fix themselves by retrying.
        if (status === 401 || status === 403 || status === 404) {
          opts.onState('closed', (e as Error).message);
          return;
        }
        opts.onState('closed', `${(e as Error).message} Reconnecting…`);
      }
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 15_000);
    }
  };
  void run().catch((e: unknown) => opts.onState('closed', String(e)));
  return {
    stop() {
      stopped = true;
      ctrl.abort();
    },
  };
}
