// The console's only way out: same-origin REST under /api/v1 with the signed-in bearer token.
// Errors keep the API's code and message so views can show them inline as the API wrote them.
import type { ErrorBody } from '@twoway/contracts';
import { saveFile } from './dom.js';

export const API = '/api/v1';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined | null>;

export function qs(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class Api {
  constructor(
    private readonly token: string,
    /** Called on 401 so the shell can send the user back to sign in. */
    private readonly onUnauthenticated: (e: ApiError) => void = () => {},
  ) {}

  get<T>(path: string, q?: Query): Promise<T> {
    return this.request<T>('GET', path + qs(q));
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }
  del(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A file export (CSV or NDJSON): fetched with the token, handed to the browser as a download. */
  async download(path: string, q: Query, filename: string): Promise<void> {
    const res = await this.send('GET', path + qs(q));
    saveFile(filename, await res.blob());
  }

  /** The raw response of an authorised request, for streams (EventSource cannot send a bearer header). */
  async send(method: string, path: string, body?: unknown, signal?: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ApiError(0, 'NETWORK', 'Cannot reach the twoway API. Check your connection and try again.');
    }
    if (res.ok) return res;
    const err = await toApiError(res);
    if (res.status === 401) this.onUnauthenticated(err);
    throw err;
  }
}

async function toApiError(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `Request failed with status ${res.status}.`;
  try {
    const body = (await res.json()) as Partial<ErrorBody>;
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON (a proxy error page): keep the status text
  }
  return new ApiError(res.status, code, message);
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
