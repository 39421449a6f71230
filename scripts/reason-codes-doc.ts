// docs/reason-codes.md's two tables, generated from ReasonDocs in libs/contracts (reason-docs.ts).
//   node --import tsx scripts/reason-codes-doc.ts --write   rewrite the tables
//   node --import tsx scripts/reason-codes-doc.ts --check   exit 1 when the file differs (libs/contracts/src/codes-docs.spec.ts runs it)
import { readFileSync, writeFileSync } from 'node:fs';
import { reasonTable } from '@twoway/contracts';

const url = new URL('../docs/reason-codes.md', import.meta.url);
const text = readFileSync(url, 'utf8');
let next = text;
for (const which of ['chain', 'connect'] as const) {
  const re = new RegExp(`(<!-- reason-codes:${which}:start -->\\n)[\\s\\S]*?(<!-- reason-codes:${which}:end -->)`);
  if (!re.test(next)) throw new Error(`docs/reason-codes.md has no reason-codes:${which} markers`);
  next = next.replace(re, (_m, start: string, end: string) => `${start}${reasonTable(which)}\n${end}`);
}
if (process.argv.includes('--write')) {
  writeFileSync(url, next);
  console.log('docs/reason-codes.md: tables written from libs/contracts/src/reason-docs.ts');
} else if (next !== text) {
  console.error('docs/reason-codes.md is out of date: run `node --import tsx scripts/reason-codes-doc.ts --write`');
  process.exit(1);
} else console.log('docs/reason-codes.md matches libs/contracts/src/reason-docs.ts');
