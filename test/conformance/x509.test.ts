// X.509 path-validation conformance: the client-authentication vectors of x509-limbo and NIST PKITS
// (test/conformance/x509/, see its SOURCES.md) run through the real command,
// `twoway pki verify --cases`, as an operator would. The bar: zero false accepts, ≥ 95 % agreement.
// Every remaining disagreement is explained in docs/conformance.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dir = join(here, 'x509');

interface Expected {
  id: string;
  expected_valid: boolean;
  category: string;
  source_note: string;
}

/** The disagreements docs/conformance.md explains; a new one fails the test until it is explained. */
const EXPLAINED_FALSE_REJECTS = new Set([
  'limbo::pathlen::validation-ignores-pathlen-in-leaf',
  'limbo::rfc5280::ca-as-leaf',
]);

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'apps/cli/bin/twoway.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, stdout, stderr };
}

test('x509 client conformance: zero false accepts, at least 95 % agreement', { timeout: 300_000 }, async () => {
  const expected = readJsonl<Expected>(join(dir, 'expected.jsonl'));
  const { code, stdout, stderr } = await runCli(['pki', 'verify', '--cases', join(dir, 'cases.jsonl')]);
  assert.equal(code, 0, `the command must exit 0 once every case is evaluated; stderr:\n${stderr}`);

  const got = new Map<string, { id: string; valid: unknown; reason: unknown }>();
  for (const line of stdout.split('\n').filter((l) => l.trim())) {
    const r = JSON.parse(line) as { id: string; valid: unknown; reason: unknown };
    assert.deepEqual(Object.keys(r).sort(), ['id', 'reason', 'valid'], `output lines are exactly {"id","valid","reason"}: ${line}`);
    assert.ok(!got.has(r.id), `duplicate answer for ${r.id}`);
    got.set(r.id, r);
  }

  const falseAccepts: string[] = [];
  const falseRejects: string[] = [];
  let agree = 0;
  for (const e of expected) {
    const r = got.get(e.id);
    assert.ok(r, `no answer for ${e.id}`);
    assert.equal(typeof r.valid, 'boolean', `${e.id}: valid must be a boolean`);
    assert.equal(typeof r.reason, 'string', `${e.id}: reason must be a string`);
    if (r.valid === e.expected_valid) agree++;
    else if (r.valid) falseAccepts.push(`${e.id} [${e.category}] ${e.source_note.slice(0, 140)}`);
    else falseRejects.push(`${e.id} [${e.category}] reason ${String(r.reason)}`);
  }
  const pct = (100 * agree) / expected.length;
  console.log(`x509 client conformance: agree ${agree}/${expected.length} (${pct.toFixed(1)} %), false accepts ${falseAccepts.length}, false rejects ${falseRejects.length}`);
  for (const d of [...falseAccepts.map((s) => `FALSE ACCEPT ${s}`), ...falseRejects.map((s) => `false reject ${s}`)]) console.log(`  ${d}`);

  assert.deepEqual(falseAccepts, [], 'a chain that must be refused was accepted');
  assert.ok(pct >= 95, `agreement ${pct.toFixed(1)} % is below 95 %`);
  const unexplained = falseRejects.filter((s) => !EXPLAINED_FALSE_REJECTS.has(s.split(' ')[0]!));
  assert.deepEqual(unexplained, [], 'a new disagreement: fix it or explain it in docs/conformance.md and list it above');
});
