// Naming things on the command line as git names commits: by full id, by a unique id prefix (at
// least 8 hex digits), or by a name that is unique where it is looked up. The API does the search
// (the list routes' `idPrefix` and name filters), so an account with 100,000 credentials still costs
// two small requests; a full UUID costs none.
import type { Account, Certificate, Credential, TokenInfo } from '@twoway/contracts';
import { CliError, type Query, type RestClient } from './client.js';
import { table } from './output.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A full UUID needs no lookup. */
export const isFullId = (ref: string): boolean => UUID.test(ref);
/** Shortest id prefix accepted, as with git's abbreviated hashes. */
export const MIN_PREFIX = 8;
const HEX_PREFIX = new RegExp(`^[0-9a-f][0-9a-f-]{${MIN_PREFIX - 1},}$`, 'i');
/** The API's IdPrefix: id characters without `_`, a LIKE wildcard. */
const ID_PREFIX = /^[A-Za-z0-9-]{1,64}$/;
/** Candidates shown when a name is ambiguous. */
const MAX_SHOWN = 20;

export interface Kind<T extends { id: string }> {
  /** `certificate`, for messages. */
  noun: string;
  /** The command that lists them, for hints: `twoway certs ls`. */
  lsCommand: string;
  /** The list route to search, e.g. `/accounts/{id}/certificates`. */
  path: string;
  /** The list route's exact-name filter, also the item's name field: `name`, `username`. */
  nameParam: keyof T & string;
  /** Extra query of every search (e.g. `recursive=true`). */
  query?: Query;
  /** Fields shown for each candidate of an ambiguous name. */
  columns: (keyof T & string)[];
  /** Items outside the list route that also answer to the name (an account: itself). */
  also?: T[];
}

/**
 * The id that `ref` names: the item whose id it is, else the one whose id starts with it (8+ hex
 * digits) or whose name it is. No match or several are errors that say what to do.
 */
export async function resolveRef<T extends { id: string }>(api: RestClient, kind: Kind<T>, ref: string): Promise<string> {
  if (isFullId(ref)) return ref.toLowerCase();
  const search = async (q: Query): Promise<T[]> => (await api.json<{ items: T[] }>('GET', kind.path, { query: { ...kind.query, ...q, limit: MAX_SHOWN + 1 } })).items;
  const prefix = HEX_PREFIX.test(ref) ? ref.toLowerCase() : ref;
  const [byId, byName] = await Promise.all([ID_PREFIX.test(ref) ? search({ idPrefix: prefix }) : [], search({ [kind.nameParam]: ref })]);
  const also = kind.also ?? [];
  const exact = [...also, ...byId].find((x) => x.id === ref);
  if (exact) return exact.id;
  const found = new Map<string, T>();
  if (HEX_PREFIX.test(ref)) for (const x of [...also, ...byId]) if (x.id.startsWith(prefix)) found.set(x.id, x);
  for (const x of [...also, ...byName]) if (x[kind.nameParam] === ref) found.set(x.id, x);
  const matches = [...found.values()];
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) {
    const short = /^[0-9a-f-]+$/i.test(ref) && ref.length < MIN_PREFIX ? ` (an id prefix needs at least ${MIN_PREFIX} hex digits)` : '';
    throw new CliError(`no ${kind.noun} '${ref}': it is neither an id, an id prefix nor a name${short}\n  → list them with \`${kind.lsCommand}\``, 1, 'NOT_FOUND');
  }
  const rows = matches.slice(0, MAX_SHOWN).map((x) => kind.columns.map((k) => (x[k] === null || x[k] === undefined ? '-' : String(x[k]))));
  throw new CliError(
    `'${ref}' is ambiguous: ${matches.length > MAX_SHOWN ? `more than ${MAX_SHOWN}` : matches.length} ${kind.noun}s match\n${table(kind.columns.map((k) => k.replace(/([A-Z])/g, ' $1')), rows).replace(/^/gm, '    ')}\n  → name one by its id (or an id prefix of ${MIN_PREFIX}+ hex digits)`,
    2,
    'AMBIGUOUS',
  );
}

// What each kind is called, listed by and searched on: the list route of the account acted on.
export const certificateKind = (path: string): Kind<Certificate> => ({ noun: 'certificate', lsCommand: 'twoway certs ls', path, nameParam: 'name', columns: ['id', 'name', 'kind', 'status', 'subject'] });
export const credentialKind = (path: string): Kind<Credential> => ({ noun: 'credential', lsCommand: 'twoway credentials ls', path, nameParam: 'username', columns: ['id', 'username', 'enabled'] });
export const tokenKind = (path: string): Kind<TokenInfo> => ({ noun: 'token', lsCommand: 'twoway tokens ls', path, nameParam: 'name', columns: ['id', 'name', 'role', 'createdAt', 'revokedAt'] });

/** Accounts are looked up in the token's own subtree (itself included), where names may repeat at different levels. */
export const accountKind = (own: Account): Kind<Account> => ({
  noun: 'account',
  lsCommand: 'twoway accounts children --recursive',
  path: `/accounts/${encodeURIComponent(own.id)}/children`,
  nameParam: 'name',
  query: { recursive: 'true' },
  also: [own],
  columns: ['id', 'name', 'parentId'],
});
