// The REST client behind `twoway certs|accounts|settings|credentials|tokens|audit`: global fetch, a bearer
// token, and errors rewritten into what the user should do next.
import type { ErrorBody } from '@twoway/contracts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const API = '/api/v1';

/** A failure the user can act on: `message` says what went wrong and what to do. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly code?: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

/** What to do about an API error code, appended to the API's own message. */
const HINTS: Record<string, string> = {
  UNAUTHENTICATED: 'pass --token or set TWOWAY_TOKEN with a valid API token (`twoway up` prints where its provider token is)',
  TOKEN_EXPIRED: 'create a new token with `twoway tokens create`, then set TWOWAY_TOKEN or pass --token',
  FORBIDDEN: "this token's role may not do that: use an admin token (operators are read-only; provisioners manage certificates only)",
  PROVIDER_ONLY: 'only a provider token can change this; ask your provider',
  MTLS_NOT_AVAILABLE: 'the provider must first make mutual TLS available: `twoway settings set --mtls-available on` with a provider token',
  ACCOUNT_NOT_FOUND: 'check --account: it must be your token\'s account or one below it (`twoway accounts children`)',
  CERT_NOT_FOUND: 'list the certificates and their ids with `twoway certs ls`',
  CREDENTIAL_NOT_FOUND: 'list the credentials and their ids with `twoway credentials ls`',
  TOKEN_NOT_FOUND: 'list the tokens and their ids with `twoway tokens ls`',
  CERT_DUPLICATE: 'it is already registered: find it with `twoway certs ls --q <fingerprint>`',
  CREDENTIAL_DUPLICATE: 'pick another username, or remove the old one with `twoway credentials rm <id>`',
  CERT_PRIVATE_KEY_REJECTED: 'send only the public certificate; keep the private key on the device',
  CERT_PEM_INVALID: 'the file must hold one PEM certificate with its BEGIN and END lines; check it with `twoway pki verify`',
  CERT_MULTIPLE: 'pass --split to add each certificate of the file as its own entry',
  CERT_INVALID: 'check the certificate with `twoway pki verify`',
  CERT_NOT_CA: 'CRLs and revoked serials belong to the CA that issued the devices: pass the id of a root or intermediate (`twoway certs ls --kind intermediate`)',
  CRL_INVALID: 'send one CRL as PEM (-----BEGIN X509 CRL-----) or DER; inspect it with `openssl crl -in FILE -noout -text`',
  CRL_UNSUPPORTED: 'upload the complete CRL the CA itself signs (delta and indirect CRLs are not supported)',
  CRL_ISSUER_MISMATCH: "upload the CRL to the CA that issued it: its issuer must be that certificate's subject",
  CRL_SIGNATURE_INVALID: "the CRL must be signed by this CA's key, and the CA's keyUsage must allow cRLSign",
  CRL_OUTDATED: 'a newer CRL is already stored: see it with `twoway certs crl <ca-id>`',
  CRL_FETCH_FAILED: 'check the URL (e.g. `curl -I <url>`); the last error is shown by `twoway certs crl <ca-id>`',
  REVOKED_SERIAL_NOT_FOUND: 'list the revoked serials with `twoway certs serials <ca-id>`',
  REVOKED_SERIAL_LIMIT: "upload the CA's CRL instead: `twoway certs crl-upload <ca-id> <file>`",
  VALIDATION_FAILED: 'see the command\'s --help for the accepted values',
  RATE_LIMITED: 'wait a moment and try again',
  UNAVAILABLE: 'a twoway service is not ready; check `curl <url>/readyz` and try again',
};

export class RestClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
    /** Where the token came from (`--token`, `$TWOWAY_TOKEN`, a file), named when it is refused. */
    private readonly tokenFrom?: string,
  ) {}

  async json<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const res = await this.send(method, withQuery(path, opts.query), { body: opts.body });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Every page of a list route, following `nextCursor`. */
  async all<T>(path: string, query: Query = {}, max = Number.POSITIVE_INFINITY): Promise<{ items: T[]; more: boolean }> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: T[]; nextCursor: string | null } = await this.json('GET', path, { query: { ...query, cursor } });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && items.length < max);
    return { items: items.slice(0, max), more: cursor !== null || items.length > max };
  }

  /** The raw response (exports, streams); non-2xx statuses become a CliError with a hint. */
  async send(method: string, path: string, opts: { body?: unknown; accept?: string; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = this.baseUrl.replace(/\/+$/, '') + API + path;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: opts.accept ?? 'application/json', ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const c = (e as { cause?: { code?: string; message?: string } }).cause;
      const cause = c?.code ?? c?.message ?? (e as Error).message;
      throw new CliError(`cannot reach the twoway API at ${this.baseUrl} (${cause}): is it running? Start it with \`twoway up\`, or pass --url / set TWOWAY_URL`);
    }
    if (res.ok) return res;
    let code = `HTTP_${res.status}`;
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as Partial<ErrorBody>;
      if (body.error?.code) code = body.error.code;
      if (body.error?.message) message = body.error.message;
    } catch {
      // not our JSON error body (a proxy in between): keep the status line
    }
    let hint = HINTS[code] ?? (res.status === 401 ? HINTS.UNAUTHENTICATED : res.status === 404 && code === 'NOT_FOUND' ? `is ${this.baseUrl} a twoway gateway? pass --url or set TWOWAY_URL` : undefined);
    if (res.status === 401 && this.tokenFrom) hint = `the token from ${this.tokenFrom} was refused: ${hint}`;
    throw new CliError(`${message} [${code}]${hint ? `\n  → ${hint}` : ''}`, 1, code, res.status);
  }
}
