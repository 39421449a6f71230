// The process that runs several services (host.ts) from their sources:
//   TWOWAY_HOSTED_SERVICES='[{"name":"audit","entry":"services/audit/src/main.ts","env":{…}}]' \
//     node --import tsx libs/runtime/src/host-main.ts
// `twoway up --combined` starts it; the production build has its own bundle (scripts/build.mjs `host`).
import { runHostFromEnv } from './host.js';

await runHostFromEnv();
