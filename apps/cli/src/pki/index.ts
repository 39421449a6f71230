// `twoway pki`: local PKI work without openssl recipes — create a root, an intermediate, device
// certificates (one or thousands), and verify chains with the same validator the broker uses.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { join } from 'node:path';
import { createRootCa, issueDeviceCert, issueIntermediateCa, KeyAlgorithms, PkiError, type KeyAlgorithm } from '@twoway/pki';
import { CA_CERT, CA_CHAIN, CA_KEY, prepareOut, readCaDir, safeFileStem, UsageError, writeKey, writePublic } from './files.js';
import { ProgressBar } from './progress.js';
import { runCases, verifyOne } from './verify.js';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Sub {
  summary: string;
  usage: string;
  options: Options;
  run(values: Record<string, string | boolean | (string | boolean)[] | undefined>): Promise<number>;
}

const help = { type: 'boolean', short: 'h' } as const;
const BULK_CONCURRENCY = 4;

function str(v: unknown, name: string, required: true): string;
function str(v: unknown, name: string, required?: false): string | undefined;
function str(v: unknown, name: string, required = false): string | undefined {
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  return String(v);
}

function int(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${String(v)}'`);
  return n;
}

function keyAlg(v: unknown): KeyAlgorithm | undefined {
  if (v === undefined) return undefined;
  if (!(KeyAlgorithms as readonly string[]).includes(String(v))) throw new UsageError(`--key-alg must be one of ${KeyAlgorithms.join(', ')}`);
  return v as KeyAlgorithm;
}

const subs: Record<string, Sub> = {
  'init-ca': {
    summary: 'create a self-signed root CA (ca.pem, ca.key)',
    usage: `usage: twoway pki init-ca --cn NAME --out DIR [--key-alg ${KeyAlgorithms.join('|')}] [--days N] [--path-len N] [--force]

Writes DIR/ca.pem (register it as a trust anchor) and DIR/ca.key (mode 0600; keep it offline).
Defaults: --key-alg ec-p256, --days 3650, no path length limit.`,
    options: { cn: { type: 'string' }, out: { type: 'string' }, 'key-alg': { type: 'string' }, days: { type: 'string' }, 'path-len': { type: 'string' }, force: { type: 'boolean' }, help },
    async run(v) {
      const out = str(v.out, 'out', true);
      await prepareOut(out, [CA_CERT, CA_KEY], !!v.force);
      const root = await createRootCa({ commonName: str(v.cn, 'cn', true), keyAlgorithm: keyAlg(v['key-alg']), days: int(v.days, 'days', 1, 36500), pathLen: int(v['path-len'], 'path-len', 0, 32) });
      await writeKey(out, CA_KEY, root.keyPem);
      const certFile = await writePublic(out, CA_CERT, root.certPem);
      console.log(`root CA '${root.cert.subject}' (${root.cert.keyType}, valid to ${root.cert.notAfter.toISOString()})`);
      console.log(`  certificate: ${certFile}\n  key:         ${join(out, CA_KEY)} (mode 0600)\n  sha256:      ${root.cert.fingerprint}`);
      return 0;
    },
  },
  'issue-intermediate': {
    summary: 'issue an intermediate CA signed by a CA directory',
    usage: `usage: twoway pki issue-intermediate --ca DIR --cn NAME --out DIR [--path-len N] [--days N] [--key-alg ALG] [--force]

--ca is a directory made by init-ca or issue-intermediate. Writes OUT/ca.pem, OUT/ca.key (0600) and
OUT/chain.pem (the intermediate and the CAs above it, without the root), so OUT can be used as --ca.
Defaults: --days 1825, no path length limit (--path-len 0 forbids further intermediates).`,
    options: { ca: { type: 'string' }, cn: { type: 'string' }, out: { type: 'string' }, 'path-len': { type: 'string' }, days: { type: 'string' }, 'key-alg': { type: 'string' }, force: { type: 'boolean' }, help },
    async run(v) {
      const issuer = await readCaDir(str(v.ca, 'ca', true));
      const out = str(v.out, 'out', true);
      await prepareOut(out, [CA_CERT, CA_KEY, CA_CHAIN], !!v.force);
      const ica = await issueIntermediateCa({ issuer, commonName: str(v.cn, 'cn', true), pathLen: int(v['path-len'], 'path-len', 0, 32), days: int(v.days, 'days', 1, 36500), keyAlgorithm: keyAlg(v['key-alg']) });
      await writeKey(out, CA_KEY, ica.keyPem);
      await writePublic(out, CA_CERT, ica.certPem);
      await writePublic(out, CA_CHAIN, ica.chainPem);
      console.log(`intermediate CA '${ica.cert.subject}' issued by '${ica.cert.issuer}' (valid to ${ica.cert.notAfter.toISOString()})`);
      console.log(`  certificate: ${join(out, CA_CERT)}\n  chain:       ${join(out, CA_CHAIN)}\n  key:         ${join(out, CA_KEY)} (mode 0600)\n  sha256:      ${ica.cert.fingerprint}`);
      return 0;
    },
  },
  'issue-device': {
    summary: 'issue device (clientAuth) certificates, one or --count N',
    usage: `usage: twoway pki issue-device --ca DIR --cn NAME --out DIR [--san dns:x|ip:x|uri:x ...] [--days N] [--key-alg ALG] [--force]
       twoway pki issue-device --ca DIR --count N --cn-prefix dev- --out DIR [--days N]

Writes OUT/<cn>.pem (certificate), OUT/<cn>.chain.pem (certificate + intermediates: what the device
presents) and OUT/<cn>.key (0600). Bulk mode names devices <prefix>0001... and shows progress on stderr.
Certificates carry CA:FALSE, keyUsage digitalSignature and extendedKeyUsage clientAuth. Default --days 365.`,
    options: { ca: { type: 'string' }, cn: { type: 'string' }, out: { type: 'string' }, san: { type: 'string', multiple: true }, days: { type: 'string' }, 'key-alg': { type: 'string' }, count: { type: 'string' }, 'cn-prefix': { type: 'string' }, force: { type: 'boolean' }, help },
    async run(v) {
      const issuer = await readCaDir(str(v.ca, 'ca', true));
      const out = str(v.out, 'out', true);
      const days = int(v.days, 'days', 1, 36500);
      const keyAlgorithm = keyAlg(v['key-alg']);
      const count = int(v.count, 'count', 1, 1_000_000);
      let cns: string[];
      if (count !== undefined) {
        if (v.cn !== undefined) throw new UsageError('use either --cn (one device) or --count with --cn-prefix (bulk)');
        if (v.san !== undefined) throw new UsageError('--san applies to one device; it cannot be combined with --count');
        const prefix = str(v['cn-prefix'], 'cn-prefix', true);
        const width = String(count).length < 4 ? 4 : String(count).length;
        cns = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
      } else {
        cns = [str(v.cn, 'cn', true)];
      }
      const stems = cns.map(safeFileStem);
      await prepareOut(out, stems.flatMap((s) => [`${s}.pem`, `${s}.key`, `${s}.chain.pem`]), !!v.force);
      const bar = count !== undefined ? new ProgressBar(cns.length) : undefined;
      let next = 0;
      let done = 0;
      // Key generation and signing run on libuv's thread pool: a few in flight keep it busy.
      const worker = async (): Promise<void> => {
        for (let i = next++; i < cns.length; i = next++) {
          const d = await issueDeviceCert({ issuer, commonName: cns[i]!, sans: v.san as string[] | undefined, days, keyAlgorithm });
          await writeKey(out, `${stems[i]}.key`, d.keyPem);
          await writePublic(out, `${stems[i]}.pem`, d.certPem);
          await writePublic(out, `${stems[i]}.chain.pem`, d.chainPem);
          if (bar) bar.update(++done);
          else {
            console.log(`device certificate '${d.cert.subject}' issued by '${d.cert.issuer}' (valid to ${d.cert.notAfter.toISOString()})`);
            console.log(`  certificate: ${join(out, `${stems[i]}.pem`)}\n  chain:       ${join(out, `${stems[i]}.chain.pem`)}\n  key:         ${join(out, `${stems[i]}.key`)} (mode 0600)\n  sha256:      ${d.cert.fingerprint}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(BULK_CONCURRENCY, cns.length) }, worker));
      if (bar) console.log(`${cns.length} device certificates written to ${out}`);
      return 0;
    },
  },
  verify: {
    summary: 'validate a chain (or a JSONL file of cases) with the broker\'s validator',
    usage: `usage: twoway pki verify --leaf FILE [--chain FILE] --trust FILE [--trust FILE ...] [--at ISO-8601] [--purpose client|server|any] [--json]
       twoway pki verify --cases FILE.jsonl [--detail]

One chain: --leaf may hold the leaf followed by its chain; --chain adds more untrusted certificates;
--trust files hold the anchors (roots, intermediates or pinned leaves). Prints 'valid' or
'invalid: REASON (detail)'; exit 0 when valid, 1 when not. --at defaults to now, --purpose to client.

Bulk: FILE.jsonl holds one case a line,
  {"id": "...", "trust": [PEM, ...], "untrusted": [PEM, ...], "leaf": PEM, "at": ISO-8601 or null,
   "purpose": "client" | "server" | "any"}
and each output line is {"id", "valid", "reason"} (--detail adds "detail"), in input order; reason
is OK or why not, e.g. CHAIN_UNTRUSTED, CERT_EXPIRED, WEAK_KEY (the broker's reason codes). Exit 0
once every case was evaluated, whatever the verdicts.

example: twoway pki verify --leaf device.pem --trust ca.pem`,
    options: { leaf: { type: 'string' }, chain: { type: 'string' }, trust: { type: 'string', multiple: true }, at: { type: 'string' }, purpose: { type: 'string' }, json: { type: 'boolean' }, cases: { type: 'string' }, detail: { type: 'boolean' }, help },
    async run(v) {
      if (v.cases !== undefined) {
        if (v.leaf !== undefined || v.trust !== undefined) throw new UsageError('--cases cannot be combined with --leaf/--trust');
        await runCases(String(v.cases), { detail: !!v.detail });
        return 0;
      }
      const trust = (v.trust as string[] | undefined) ?? [];
      if (trust.length === 0) throw new UsageError('--trust FILE is required (the anchor: root, intermediate or pinned leaf); or use --cases FILE.jsonl');
      const r = await verifyOne({ leafFile: str(v.leaf, 'leaf', true), chainFile: str(v.chain, 'chain'), trustFiles: trust, at: str(v.at, 'at'), purpose: str(v.purpose, 'purpose') });
      if (v.json) console.log(JSON.stringify(r));
      else if (r.valid) console.log(`valid\n  path: ${r.path.join(' <- ')}`);
      else console.log(`invalid: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
      return r.valid ? 0 : 1;
    },
  },
};

export function usage(): string {
  const rows = Object.entries(subs).map(([k, s]) => `  ${k.padEnd(20)} ${s.summary}`);
  return `usage: twoway pki <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nRun 'twoway pki <command> --help' for its options.`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const sub = subs[name];
  if (!sub) {
    console.error(`twoway pki: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: sub.options, strict: true, allowPositionals: false }));
  } catch (e) {
    console.error(`twoway pki ${name}: ${(e as Error).message}\n\n${sub.usage}`);
    return 2;
  }
  if (values.help) {
    console.log(sub.usage);
    return 0;
  }
  try {
    return await sub.run(values);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`twoway pki ${name}: ${e.message}\nRun 'twoway pki ${name} --help' for usage.`);
      return 2;
    }
    if (e instanceof PkiError) {
      console.error(`twoway pki ${name}: ${e.message} (${e.code})`);
      return 1;
    }
    throw e;
  }
}
