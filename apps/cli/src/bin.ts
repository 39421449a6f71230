#!/usr/bin/env node
// Entry of the bundled `twoway` command (apps/cli/dist/twoway.js, built by scripts/build.mjs); from a
// clone, bin/twoway.mjs runs main.ts through tsx instead.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
