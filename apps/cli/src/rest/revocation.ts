// `twoway certs crl… | revoke-serial | restore-serial | serials`: a registered CA's CRL (upload, show,
// remove, its distribution point, fetch now) and revoking one device by serial number without its
// certificate. Subcommands of `twoway certs`, thin clients of /accounts/{id}/certificates/{certId}/crl
// and …/revoked-serials.
import { readFile } from 'node:fs/promises';
import type { Revocation, RevokedSerial } from '@twoway/contracts';
import { containsPrivateKey } from '@twoway/pki';
import { CliError } from './client.js';
import { enc, oneOf, type Call, type Sub } from './command.js';
import { asJson, keyValues, table, time } from './output.js';
import { certPath } from './cert-ref.js';

const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'] as const;

/** The CA the first argument names: by id, id prefix or name, as every `twoway certs` subcommand. */
const caPath = (c: Call): Promise<string> => certPath(c, c.args[0]!);

function show(c: Call, r: Revocation): void {
  if (c.json) return void c.io.out(asJson(r));
  const crl = r.crl;
  const dp = r.distributionPoint;
  c.io.out(
    keyValues([
      ['ca', r.certificateId],
      ['crl', crl ? `number ${crl.number ?? '-'}, ${crl.entries} serials, ${crl.source === 'fetch' ? 'fetched' : 'uploaded'} ${time(crl.updatedAt)}` : 'none'],
      ...(crl
        ? ([
            ['this update', time(crl.thisUpdate)],
            ['next update', `${time(crl.nextUpdate)}${crl.stale ? '  (STALE: past its next update)' : ''}`],
            ['crl sha256', crl.fingerprint],
          ] as [string, string][])
        : []),
      ['distribution point', dp ? dp.url : 'none'],
      ...(dp
        ? ([
            ['last success', time(dp.lastSuccessAt)],
            ['failures', `${dp.failures}${dp.lastError ? ` (last: ${dp.lastError})` : ''}`],
            ['next fetch', time(dp.nextFetchAt)],
          ] as [string, string][])
        : []),
      ['revoked serials', r.revokedSerials],
    ]),
  );
}

/** The CRL file as the API takes it: PEM text as is, DER as base64. A private key stops everything here. */
async function readCrl(c: Call, file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? Buffer.from(await c.io.stdin(), 'utf8') : await readFile(file);
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 2);
  }
  if (bytes[0] === 0x30) return bytes.toString('base64');
  const text = bytes.toString('utf8');
  if (containsPrivateKey(text)) throw new CliError(`${file} contains a private key: nothing was sent. A CRL is public; keep the CA's key where it is.`, 2, 'CERT_PRIVATE_KEY_REJECTED');
  if (!text.includes('-----BEGIN ')) throw new CliError(`${file} is neither a PEM CRL (-----BEGIN X509 CRL-----) nor DER`, 2, 'CRL_INVALID');
  return text;
}

/** The CA is named like any certificate: by id, a unique id prefix or its name. */
const CA = '<ca-id|prefix|name>';
const caArg = { args: CA, positionals: [1, 1] as [number, number] };

export const revocationSubs: Record<string, Sub> = {
  crl: {
    summary: "show a CA's CRL (this/next update, number, entries, stale), its distribution point and revoked serials",
    ...caArg,
    async run(c) {
      show(c, await c.api.json<Revocation>('GET', `${await caPath(c)}/crl`));
    },
  },
  'crl-upload': {
    summary: "upload a CA's CRL (PEM or DER file, or - for PEM on stdin); checked against the CA",
    args: `${CA} <file|->`,
    positionals: [2, 2],
    notes: ['example: twoway certs crl-upload 3f0c… ca.crl   (the devices it lists are refused and their sessions ended)'],
    async run(c) {
      const crl = await readCrl(c, c.args[1]!);
      show(c, await c.api.json<Revocation>('PUT', `${await caPath(c)}/crl`, { body: { crl } }));
    },
  },
  'crl-rm': {
    summary: "remove a CA's stored CRL (its revoked-serial entries stay)",
    ...caArg,
    async run(c) {
      await c.api.json('DELETE', `${await caPath(c)}/crl`);
      c.io.out(c.json ? asJson({ removed: c.args[0] }) : `removed the CRL of ${c.args[0]}`);
    },
  },
  'crl-url': {
    summary: "set the http(s) URL a CA's CRL is fetched from (none: stop fetching); admins only",
    args: `${CA} <url|none>`,
    positionals: [2, 2],
    async run(c) {
      const url = c.args[1] === 'none' ? null : c.args[1]!;
      show(c, await c.api.json<Revocation>('PUT', `${await caPath(c)}/crl/distribution-point`, { body: { url } }));
    },
  },
  'crl-fetch': {
    summary: "fetch a CA's CRL from its distribution point now",
    ...caArg,
    async run(c) {
      show(c, await c.api.json<Revocation>('POST', `${await caPath(c)}/crl/fetch`));
    },
  },
  'revoke-serial': {
    summary: 'revoke one device by its serial number under the CA that issued it (no certificate needed)',
    args: `${CA} <serial>`,
    positionals: [2, 2],
    options: { reason: { type: 'string', arg: 'REASON', help: `RFC 5280 reason: ${REASONS.join(', ')}` } },
    notes: ['example: twoway certs revoke-serial 3f0c… 4A:1B:77:0C --reason keyCompromise'],
    async run(c) {
      const reason = oneOf('reason', c.str('reason'), REASONS);
      const e = await c.api.json<RevokedSerial>('POST', `${await caPath(c)}/revoked-serials`, { body: { serial: c.args[1], ...(reason ? { reason } : {}) } });
      c.io.out(c.json ? asJson(e) : `revoked serial ${e.serial} under ${e.certificateId}${e.reason ? ` (${e.reason})` : ''}`);
    },
  },
  'restore-serial': {
    summary: 'remove a revoked-serial entry: the device is admitted again (unless the CRL lists it)',
    args: `${CA} <serial>`,
    positionals: [2, 2],
    async run(c) {
      await c.api.json('DELETE', `${await caPath(c)}/revoked-serials/${enc(c.args[1]!)}`);
      c.io.out(c.json ? asJson({ restored: c.args[1] }) : `restored serial ${c.args[1]} under ${c.args[0]}`);
    },
  },
  serials: {
    summary: "list a CA's revoked-serial entries",
    ...caArg,
    async run(c) {
      const { items } = await c.api.all<RevokedSerial>(`${await caPath(c)}/revoked-serials`, { limit: 1000 });
      if (c.json) return void c.io.out(asJson(items));
      if (!items.length) return void c.io.out(`no revoked serials under ${c.args[0]} (revoke one with \`twoway certs revoke-serial <ca> <serial>\`)`);
      c.io.out(table(['serial', 'reason', 'revoked', 'by'], items.map((x) => [x.serial, x.reason, time(x.revokedAt), x.revokedBy])));
    },
  },
};
