// Codes and their documentation cannot drift: every declared code has a row in docs/, and every
// documented code is declared (both directions).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCodes } from './error-codes.js';
import { ConnectReasons } from './reason-codes.js';

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
});
