// The few HTTP calls `twoway up` makes to the services it started (readiness, the first-run demo set-up),
// over node:http rather than fetch: fetch loads undici, about 12 MiB that the launcher would then keep
// for as long as it supervises, for calls made only while starting.
import { request } from 'node:http';

export interface LocalResponse {
  status: number;
  text: string;
}

export function localRequest(url: string | URL, o: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<LocalResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${o.method ?? 'GET'} ${String(url)}: no answer in ${o.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}
