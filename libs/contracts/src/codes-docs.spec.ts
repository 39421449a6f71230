// Codes and their documentation cannot drift: every declared code has a row in docs/, and every
// documented code is declared (both directions); the reason tables are the words of ReasonDocs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ErrorCodes } from './error-codes.js';
import { ConnectReasons } from './reason-codes.js';
import { ReasonDocs, ReasonRules, reasonExplanation, reasonFix } from './reason-docs.js';

const documented = (file: string) =>
  new Set([...readFileSync(new URL(`../../../docs/${file}`, import.meta.url), 'utf8').matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!));

describe('codes and docs', () => {
  it('docs/error-codes.md documents exactly the declared error codes', () => {
    const docs = documented('error-codes.md');
    assert.deepEqual([...docs].sort(), Object.keys(ErrorCodes).sort());
  });
  it('docs/error-codes.md gives each code its declared status', () => {
    const text = readFileSync(new URL('../../../docs/error-codes.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ErrorCodes)) assert.match(text, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), code);
  });
  it('docs/reason-codes.md documents exactly the declared reason codes', () => {
    const docs = documented('reason-codes.md');
    assert.deepEqual([...docs].sort(), Object.values(ConnectReasons).sort());
  });
  it("docs/reason-codes.md's tables are generated from ReasonDocs (scripts/reason-codes-doc.ts --check)", () => {
    const root = new URL('../../..', import.meta.url).pathname;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/reason-codes-doc.ts', '--check'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  });
  it('every reason has an explanation and a fix of its own, and nothing else has one', () => {
    assert.deepEqual(Object.keys(ReasonDocs).sort(), Object.values(ConnectReasons).sort());
    for (const [code, d] of Object.entries(ReasonDocs)) {
      assert.ok(d.explanation.length > 10 && d.fix.length > 0 && ReasonRules[code as keyof typeof ReasonRules].length > 10, code);
      // The explanation reaches the console, the CLI and API replies: one plain sentence, no Markdown or control characters.
      assert.doesNotMatch(d.explanation, /[`|\u0000-\u001f]/, code);
    }
    assert.equal(reasonExplanation('ANCHOR_SUSPENDED'), ReasonDocs.ANCHOR_SUSPENDED.explanation);
    assert.equal(reasonFix('ANCHOR_SUSPENDED'), ReasonDocs.ANCHOR_SUSPENDED.fix);
    assert.equal(reasonFix('MUTUAL_TLS'), undefined);
    assert.equal(reasonExplanation('toString'), undefined);
    assert.equal(reasonExplanation('NO_SUCH_CODE'), undefined);
  });
});
