#!/usr/bin/env node
// The `twoway` command. Runs the TypeScript sources through tsx so a clone needs no build step.
import { register } from 'tsx/esm/api';
// A reader that has had enough (`twoway audit export | head -1`) is not an error: stop quietly, exit 0,
// as Unix tools do. Anything else on stdout/stderr still fails loudly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
