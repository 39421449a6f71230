// One CRL download from a distribution point an operator set: http and https only (every redirect too,
// at most MAX_REDIRECTS), the whole exchange within `timeoutMs`, the body within `maxBytes` (read in
// chunks and cut off there, whatever Content-Length claimed). Any failure is a CrlFetchError saying why.
import { CrlFetchError } from '../errors.js';

export const MAX_REDIRECTS = 3;

export interface DownloadOptions {
  timeoutMs: number;
  maxBytes: number;
}

const isHttp = (u: URL) => u.protocol === 'http:' || u.protocol === 'https:';

export async function downloadCrl(url: string, o: DownloadOptions): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  let current = new URL(url);
  try {
    for (let hop = 0; ; hop++) {
      if (!isHttp(current)) throw new CrlFetchError(url, `redirected to a ${current.protocol.replace(':', '')} URL; only http and https are followed`);
      // Redirects by hand: fetch's own would follow them to any scheme it knows and past our count.
      const res = await fetch(current, { redirect: 'manual', signal, headers: { accept: 'application/pkix-crl, application/x-pkcs7-crl;q=0.9, */*;q=0.5' } });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const location = res.headers.get('location');
        if (!location) throw new CrlFetchError(url, `HTTP ${res.status} without a Location header`);
        if (hop >= MAX_REDIRECTS) throw new CrlFetchError(url, `more than ${MAX_REDIRECTS} redirects`);
        current = new URL(location, current);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new CrlFetchError(url, `HTTP ${res.status}`);
      }
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (declared > o.maxBytes) {
        await res.body?.cancel();
        throw new CrlFetchError(url, `the CRL is ${declared} bytes, more than TWOWAY_CRL_MAX_BYTES (${o.maxBytes})`);
      }
      return await readBounded(res, url, o.maxBytes);
    }
  } catch (e) {
    if (e instanceof CrlFetchError) throw e;
    if (signal.aborted) throw new CrlFetchError(url, `no complete answer within ${o.timeoutMs} ms (TWOWAY_CRL_FETCH_TIMEOUT_MS)`, { cause: e });
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CrlFetchError(url, cause?.code ?? cause?.message ?? (e as Error).message, { cause: e });
  }
}

async function readBounded(res: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new CrlFetchError(url, `the CRL is larger than TWOWAY_CRL_MAX_BYTES (${maxBytes})`);
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
