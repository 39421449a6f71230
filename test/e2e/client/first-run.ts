// The first-run journey of an operator, as an API client written against the types that
// openapi-typescript generates from the OpenAPI document (./generated/twoway-api.ts) and sent with
// openapi-fetch: whatever the document gets wrong about a path, a parameter, a body or a response,
// the type check of this file (by its test) or the calls themselves fail.
//   node --import tsx test/e2e/client/first-run.ts '{"baseUrl", "token", "name", "caPem", "privateKeyPem", "username", "password"}'
// prints what each call answered, as one JSON object.
import createClient from 'openapi-fetch';
import type { paths } from './generated/twoway-api.js';

type Certificate = paths['/api/v1/accounts/{id}/certificates/{certId}']['get']['responses'][200]['content']['application/json'];
type AuditEvent = paths['/api/v1/accounts/{id}/audit']['get']['responses'][200]['content']['application/json']['items'][number];

interface FirstRun {
  provider: string;
  account: { id: string; name: string; parentId: string | null };
  ca: Certificate;
  credential: { id: string; username: string };
  listed: Certificate[];
  suspended: Certificate;
  refusedKey: { status: number; code: string };
  connection: { url: string; serverCa: boolean };
  audit: AuditEvent[];
}

/** A value or the API's error, as a message that says which call failed and why. */
function ok<T>(what: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) throw new Error(`${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  return r.data;
}

/** Asks again until the answer is there: the audit service stores events as it consumes them from the stream. */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Input {
  baseUrl: string;
  token: string;
  name: string;
  caPem: string;
  privateKeyPem: string;
  username: string;
  password: string;
}

/**
 * Create a sub-account, register the fleet's root CA and a device credential in it, list its
 * certificates, suspend the CA and read what the audit trail recorded.
 */
async function firstRun(input: Input): Promise<FirstRun> {
  // JSON answers only: the audit query also describes its CSV and NDJSON exports, which this client does not ask for.
  const api = createClient<paths, 'application/json'>({ baseUrl: input.baseUrl, headers: { authorization: `Bearer ${input.token}` } });

  const me = ok('whoami', await api.GET('/api/v1/whoami'));
  const account = ok('create a sub-account', await api.POST('/api/v1/accounts', { body: { name: input.name, parentId: me.account.id } }));
  const id = { id: account.id };
  ok('turn mutual TLS on', await api.PUT('/api/v1/accounts/{id}/settings', { params: { path: id }, body: { mutualTls: { available: true, enabled: true } } }));

  // A private key pasted instead of the certificate is refused, with a code a client can match on.
  const refused = await api.POST('/api/v1/accounts/{id}/certificates', { params: { path: id }, body: { name: 'pasted key', usage: 'MUTUAL_AUTHENTICATION', certificate: input.privateKeyPem } });
  const refusedKey = { status: refused.response.status, code: refused.error?.error.code ?? 'none' };

  const added = ok('register the CA', await api.POST('/api/v1/accounts/{id}/certificates', { params: { path: id }, body: { name: 'Fleet root CA', usage: 'MUTUAL_AUTHENTICATION', certificate: input.caPem } }));
  // One certificate answers one entry; only `?split=true` answers `{ items }` (one per certificate of a chain).
  if ('items' in added) throw new Error('register the CA: a list for one certificate without ?split=true');
  const ca = added;
  const credential = ok('create a credential', await api.POST('/api/v1/accounts/{id}/credentials', { params: { path: id }, body: { username: input.username, password: input.password } }));
  const listed = ok('list certificates', await api.GET('/api/v1/accounts/{id}/certificates', { params: { path: id, query: { limit: 50 } } })).items;
  const suspended = ok('suspend the CA', await api.PATCH('/api/v1/accounts/{id}/certificates/{certId}', { params: { path: { id: account.id, certId: ca.id } }, body: { status: 'SUSPENDED' } }));
  const info = ok('connection info', await api.GET('/api/v1/connection-info'));

  // The three changes, newest first, once the audit service has stored them.
  const audit = await until(async () => {
    const page = ok('read the audit', await api.GET('/api/v1/accounts/{id}/audit', { params: { path: id, query: { type: 'cert.*,credential.*', limit: 10 } } }));
    return page.items.length >= 3 ? page.items : undefined;
  }, 'the audit events of the journey');

  return {
    provider: me.account.id,
    account: { id: account.id, name: account.name, parentId: account.parentId ?? null },
    ca,
    credential: { id: credential.id, username: credential.username },
    listed,
    suspended,
    refusedKey,
    connection: { url: info.mqtt.url, serverCa: info.serverCa !== null },
    audit,
  };
}

process.stdout.write(JSON.stringify(await firstRun(JSON.parse(process.argv[2] ?? '{}') as Input)));
