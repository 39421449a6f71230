// `twoway certs`: register, list, inspect, suspend, revoke, restore and remove trust anchors.
import { readFile } from 'node:fs/promises';
import { MAX_EXPIRY_WINDOW_DAYS, type Certificate, type CertStatus } from '@twoway/contracts';
import { containsPrivateKey, readPemBlocks, toPem } from '@twoway/pki';
import { CliError } from './client.js';
import { command, oneOf, processIo, type Call, type Io, type Sub } from './command.js';
import { asJson, keyValues, table, time } from './output.js';
import { certificatesPath as base, certPath, REF } from './cert-ref.js';
import { revocationSubs } from './revocation.js';

const STATUSES = ['VALID', 'SUSPENDED', 'REVOKED'] as const;
const KINDS = ['root', 'intermediate', 'leaf'] as const;

function show(c: Call, cert: Certificate): void {
  c.io.out(
    c.json
      ? asJson(cert)
      : keyValues([
          ['id', cert.id],
          ['name', cert.name],
          ['status', cert.status],
          ['kind', cert.kind],
          ['usage', cert.usage],
          ['subject', cert.subject],
          ['issuer', cert.issuer],
          ['serial', cert.serial],
          ['sha256', cert.fingerprint],
          ['not before', time(cert.notBefore)],
          ['not after', notAfter(cert)],
          ['key', cert.keyType],
          ['account', cert.accountId],
          ['added', time(cert.createdAt)],
          ['updated', time(cert.updatedAt)],
        ]),
  );
}

/** Its notAfter, and `(expiring)` or `(expired)` when the API says so. */
const notAfter = (c: Certificate): string => (c.expiry && c.expiry !== 'ok' ? `${time(c.notAfter)} (${c.expiry})` : time(c.notAfter));

/** Read the file (or stdin for `-`) and split it into certificates; a private key stops everything here. */
export async function readCertificates(c: Call, file: string): Promise<string[]> {
  let text: string;
  try {
    text = file === '-' ? await c.io.stdin() : await readFile(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 2);
  }
  if (containsPrivateKey(text)) {
    throw new CliError(`${file} contains a private key: nothing was sent. Pass only the public certificate (e.g. \`openssl x509 -in ${file} -out cert.pem\`); keep the key on the device.`, 2, 'CERT_PRIVATE_KEY_REJECTED');
  }
  try {
    const blocks = readPemBlocks(text);
    const other = blocks.find((b) => b.label !== 'CERTIFICATE');
    if (other) throw new CliError(`${file} holds a ${other.label}, not a CERTIFICATE`, 2, 'CERT_PEM_INVALID');
    return blocks.map((b) => toPem(b.der));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file}: ${(e as Error).message}`, 2, 'CERT_PEM_INVALID');
  }
}

function setStatus(status: CertStatus, verb: string, summary: string): Sub {
  return {
    summary,
    args: REF,
    positionals: [1, 1],
    async run(c) {
      const cert = await c.api.json<Certificate>('PATCH', await certPath(c, c.args[0]!), { body: { status } });
      if (c.json) c.io.out(asJson(cert));
      else c.io.out(`${verb} ${cert.name} (${cert.id}, ${cert.kind}): status ${cert.status}`);
    },
  };
}

export const certs = command('certs', 'Trust anchors: root and intermediate CAs, or single device certificates, with their status.', {
  add: {
    summary: 'register a PEM certificate (file, or - for stdin)',
    args: '<file|->',
    positionals: [1, 1],
    options: {
      name: { type: 'string', arg: 'NAME', help: 'display name (required)' },
      usage: { type: 'string', arg: 'USAGE', help: 'MUTUAL_AUTHENTICATION (the default and only usage)' },
      split: { type: 'boolean', help: 'add each certificate of a chain file as its own entry ("NAME #1", "NAME #2", …)' },
    },
    notes: ['example: twoway certs add data/pki/ca.pem --name "Dev root"'],
    async run(c) {
      const name = c.str('name');
      if (!name) throw new CliError('--name is required: how operators will recognise this certificate', 2);
      const usage = oneOf('usage', c.str('usage') ?? 'MUTUAL_AUTHENTICATION', ['MUTUAL_AUTHENTICATION'] as const);
      const pems = await readCertificates(c, c.args[0]!);
      if (pems.length > 1 && !c.opts.split) {
        throw new CliError(`${c.args[0]} holds ${pems.length} certificates; exactly one is registered per entry. Pass --split to add each as its own entry, or add only the CA you want to trust.`, 2, 'CERT_MULTIPLE');
      }
      const path = await base(c);
      const added: Certificate[] = [];
      for (const [i, pem] of pems.entries()) {
        const cert = await c.api.json<Certificate>('POST', path, { body: { name: pems.length > 1 ? `${name} #${i + 1}` : name, usage, certificate: pem } });
        added.push(cert);
      }
      if (c.json) c.io.out(asJson(pems.length > 1 ? added : added[0]));
      else for (const cert of added) c.io.out(`added ${cert.name} (${cert.id}): ${cert.kind}, ${cert.status}, sha256 ${cert.fingerprint}`);
    },
  },
  ls: {
    summary: 'list certificates',
    options: {
      status: { type: 'string', arg: 'STATUS', help: `only this status: ${STATUSES.join(', ')}` },
      kind: { type: 'string', arg: 'KIND', help: `only this kind: ${KINDS.join(', ')}` },
      q: { type: 'string', arg: 'TEXT', help: 'search name, subject or fingerprint' },
      expiring: { type: 'string', arg: 'DAYS', help: 'only those ending within DAYS days, expired ones included (0: only the expired)' },
      limit: { type: 'string', arg: 'N', help: 'at most N (default: all)' },
    },
    notes: ['example: twoway certs ls --expiring 30    # what to renew in the next 30 days'],
    async run(c) {
      const limit = c.str('limit') ? Number(c.str('limit')) : undefined;
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new CliError('--limit must be a positive integer', 2);
      const expiring = c.str('expiring');
      const days = expiring === undefined ? undefined : Number(expiring);
      if (days !== undefined && !(/^\d+$/.test(expiring!.trim()) && days <= MAX_EXPIRY_WINDOW_DAYS)) throw new CliError(`--expiring must be a number of days from 0 to ${MAX_EXPIRY_WINDOW_DAYS}`, 2);
      const { items } = await c.api.all<Certificate>(
        await base(c),
        { status: oneOf('status', c.str('status')?.toUpperCase(), STATUSES), kind: oneOf('kind', c.str('kind'), KINDS), q: c.str('q'), expiresWithinDays: days, limit: Math.min(limit ?? 200, 200) },
        limit,
      );
      if (c.json) return void c.io.out(asJson(items));
      if (!items.length) return void c.io.out(days === undefined ? 'no certificates (add one with `twoway certs add <file> --name NAME`)' : `no certificate ends within ${days} days`);
      c.io.out(table(['id', 'name', 'kind', 'status', 'not after', 'subject'], items.map((x) => [x.id, x.name, x.kind, x.status, notAfter(x), x.subject])));
    },
  },
  show: {
    summary: 'show one certificate',
    args: REF,
    positionals: [1, 1],
    notes: ['A certificate is named by its id, a unique id prefix (8+ hex digits) or its name if no other has it.'],
    async run(c) {
      show(c, await c.api.json<Certificate>('GET', await certPath(c, c.args[0]!)));
    },
  },
  suspend: setStatus('SUSPENDED', 'suspended', 'suspend: refuse new connections through it and end live sessions; restorable'),
  revoke: setStatus('REVOKED', 'revoked', 'revoke: invalid by intent (can still be restored)'),
  restore: setStatus('VALID', 'restored', 'make it valid again'),
  rm: {
    summary: 'remove a certificate',
    args: REF,
    positionals: [1, 1],
    async run(c) {
      const path = await certPath(c, c.args[0]!);
      const id = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
      await c.api.json('DELETE', path);
      c.io.out(c.json ? asJson({ deleted: id }) : `removed ${id}`);
    },
  },
  ...revocationSubs,
});

export const run = (argv: string[], io: Io = processIo()): Promise<number> => certs(argv, io);
