// `twoway pki` end to end through its module: files written (keys 0600), chains that verify, the bulk
// --cases contract (one answer per line, never a crash), and errors that say what to do.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { run } from './index.js';
import { runCases } from './verify.js';

/** Runs the command and captures what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    assert.equal(argv[0], 'pki');
    const code = await run(argv.slice(1));
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function casesOutput(file: string): Promise<Array<Record<string, unknown>>> {
  const sink = new PassThrough();
  let text = '';
  sink.setEncoding('utf8').on('data', (d: string) => (text += d));
  await runCases(file, { out: sink });
  return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('twoway pki', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twoway-pki-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('init-ca, issue-intermediate, issue-device, verify', async () => {
    const ca = join(dir, 'root');
    const ica = join(dir, 'ica');
    const devs = join(dir, 'devices');
    assert.equal((await cli('pki', 'init-ca', '--cn', 'CLI Root', '--out', ca)).code, 0);
    assert.equal((await stat(join(ca, 'ca.key'))).mode & 0o777, 0o600);
    assert.equal((await cli('pki', 'issue-intermediate', '--ca', ca, '--cn', 'CLI ICA', '--out', ica, '--path-len', '0')).code, 0);
    assert.equal((await stat(join(ica, 'ca.key'))).mode & 0o777, 0o600);
    const one = await cli('pki', 'issue-device', '--ca', ica, '--cn', 'dev/one', '--out', devs, '--san', 'dns:dev-one.local', '--san', 'ip:10.0.0.1');
    assert.equal(one.code, 0, one.err);
    assert.ok(!one.out.includes('PRIVATE KEY'), 'keys are never printed');
    assert.equal((await stat(join(devs, 'dev_one.key'))).mode & 0o777, 0o600);

    const ok = await cli('pki', 'verify', '--leaf', join(devs, 'dev_one.chain.pem'), '--trust', join(ca, 'ca.pem'));
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^valid/);
    const asServer = await cli('pki', 'verify', '--leaf', join(devs, 'dev_one.chain.pem'), '--trust', join(ca, 'ca.pem'), '--purpose', 'server');
    assert.equal(asServer.code, 1);
    assert.match(asServer.out, /^invalid: EKU_SERVER_AUTH_MISSING/);
    const later = await cli('pki', 'verify', '--leaf', join(devs, 'dev_one.pem'), '--chain', join(ica, 'chain.pem'), '--trust', join(ca, 'ca.pem'), '--at', '2100-01-01T00:00:00Z', '--json');
    assert.equal(later.code, 1);
    assert.equal(JSON.parse(later.out).reason, 'CERT_EXPIRED');
    // The intermediate alone as the anchor (partial chain).
    assert.equal((await cli('pki', 'verify', '--leaf', join(devs, 'dev_one.pem'), '--trust', join(ica, 'ca.pem'))).code, 0);
  });

  test('bulk issuance writes every device and reports progress on stderr', async () => {
    const ca = join(dir, 'bulk-root');
    await cli('pki', 'init-ca', '--cn', 'Bulk Root', '--out', ca);
    const out = join(dir, 'bulk');
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    let r;
    try {
      r = await cli('pki', 'issue-device', '--ca', ca, '--count', '3', '--cn-prefix', 'dev-', '--out', out);
    } finally {
      process.stderr.write = orig;
    }
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((await readdir(out)).filter((f) => f.endsWith('.key')).sort(), ['dev-0001.key', 'dev-0002.key', 'dev-0003.key']);
    assert.match(writes.join(''), /3\/3/);
  });

  test('errors say what to do and exit 2; an existing output is not overwritten', async () => {
    const missing = await cli('pki', 'issue-device', '--ca', join(dir, 'nope'), '--cn', 'x', '--out', join(dir, 'x'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /init-ca/);
    const noCn = await cli('pki', 'init-ca', '--out', join(dir, 'r2'));
    assert.equal(noCn.code, 2);
    assert.match(noCn.err, /--cn is required/);
    const badAlg = await cli('pki', 'init-ca', '--cn', 'x', '--out', join(dir, 'r3'), '--key-alg', 'rsa-1024');
    assert.match(badAlg.err, /ec-p256/);
    const again = await cli('pki', 'init-ca', '--cn', 'CLI Root', '--out', join(dir, 'root'));
    assert.equal(again.code, 2);
    assert.match(again.err, /already exists/);
    const unknownOpt = await cli('pki', 'verify', '--bogus');
    assert.equal(unknownOpt.code, 2);
    const help = await cli('pki', 'issue-device', '--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /--count N --cn-prefix/);
  });

  test('--cases: one {"id","valid","reason"} line per case, bad lines answered, never a crash', async () => {
    const ca = join(dir, 'cases-root');
    await cli('pki', 'init-ca', '--cn', 'Cases Root', '--out', ca);
    await cli('pki', 'issue-device', '--ca', ca, '--cn', 'c1', '--out', join(dir, 'cases-dev'));
    const rootPem = await readFile(join(ca, 'ca.pem'), 'utf8');
    const leafPem = await readFile(join(dir, 'cases-dev', 'c1.pem'), 'utf8');
    const keyPem = await readFile(join(dir, 'cases-dev', 'c1.key'), 'utf8');
    const lines = [
      { id: 'good', trust: [rootPem], untrusted: [], leaf: leafPem, at: null, purpose: 'client' },
      { id: 'expired', trust: [rootPem], untrusted: [], leaf: leafPem, at: '2200-01-01T00:00:00Z', purpose: 'client' },
      { id: 'no-trust', trust: [], untrusted: [], leaf: leafPem, at: null, purpose: 'client' },
      { id: 'garbage-leaf', trust: [rootPem], untrusted: ['junk'], leaf: 'not a pem', at: null, purpose: 'client' },
      { id: 'key-as-leaf', trust: [rootPem], untrusted: [], leaf: keyPem, at: null, purpose: 'client' },
      { id: 'bad-at', trust: [rootPem], untrusted: [], leaf: leafPem, at: 'yesterday', purpose: 'client' },
      { id: 'bad-purpose', trust: [rootPem], untrusted: [], leaf: leafPem, at: null, purpose: 'email' },
      { id: 'no-leaf', trust: [rootPem], untrusted: [] },
    ].map((l) => JSON.stringify(l));
    const file = join(dir, 'cases.jsonl');
    await writeFile(file, [...lines, '{not json', '', '[1,2]'].join('\n') + '\n');
    const got = await casesOutput(file);
    const byId = Object.fromEntries(got.map((r) => [String(r.id), r]));
    assert.equal(got.length, lines.length + 2);
    for (const r of got) assert.deepEqual(Object.keys(r).sort(), ['id', 'reason', 'valid']);
    assert.deepEqual(byId.good, { id: 'good', valid: true, reason: 'OK' });
    assert.equal(byId.expired!.reason, 'CERT_EXPIRED');
    assert.equal(byId['no-trust']!.reason, 'CHAIN_UNTRUSTED');
    assert.equal(byId['garbage-leaf']!.reason, 'CERT_MALFORMED');
    assert.equal(byId['key-as-leaf']!.reason, 'CERT_MALFORMED');
    assert.equal(byId['bad-at']!.reason, 'CASE_INVALID');
    assert.equal(byId['bad-purpose']!.reason, 'CASE_INVALID');
    assert.equal(byId['no-leaf']!.reason, 'CHAIN_EMPTY');
    assert.deepEqual(byId['line-9'], { id: 'line-9', valid: false, reason: 'CASE_INVALID' });
    assert.deepEqual(byId['line-11'], { id: 'line-11', valid: false, reason: 'CASE_INVALID' });
    // The command itself exits 0 once every case was evaluated.
    const quiet = await cli('pki', 'verify', '--cases', join(dir, 'missing.jsonl'));
    assert.equal(quiet.code, 2);
    assert.match(quiet.err, /cannot read cases file/);
  });

  test('--help of every subcommand stands alone: it cites no file of the source tree, which an operator may not have', async () => {
    for (const sub of ['init-ca', 'issue-intermediate', 'issue-device', 'verify']) {
      const h = await cli('pki', sub, '--help');
      assert.equal(h.code, 0, sub);
      assert.match(h.out, new RegExp(`^usage: twoway pki ${sub} `), sub);
      assert.doesNotMatch(h.out, /\bdocs\/|\.md\b|§/, `${sub} --help points at a document`);
    }
    // The bulk format is spelled out in the help itself instead.
    const v = await cli('pki', 'verify', '--help');
    for (const key of ['"id"', '"trust"', '"untrusted"', '"leaf"', '"at"', '"purpose"', '"valid"', '"reason"']) assert.ok(v.out.includes(key), key);
  });
});
