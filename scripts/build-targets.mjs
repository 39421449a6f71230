// What the production build makes and what the runtime image holds, in one place for scripts/build.mjs,
// scripts/stage-runtime.mjs and infra/validate.mjs, so that the build, the image and the manifests'
// commands cannot disagree. No imports: the validator reads it without the build tools.

export const SERVICES = ['account-settings', 'cert-registry', 'audit', 'broker', 'gateway'];

/** Each bundle: its TypeScript entry, its output directory and the name of its entry file there. */
export const TARGETS = {
  ...Object.fromEntries(SERVICES.map((s) => [s, { entry: `services/${s}/src/main.ts`, outdir: `services/${s}/dist`, name: 'main' }])),
  cli: { entry: 'apps/cli/src/bin.ts', outdir: 'apps/cli/dist', name: 'twoway' },
  // The small services in one process (`twoway up --combined`, libs/runtime host.ts): one bundle with
  // every hosted service as a chunk, so that each library is loaded once. Its entry is generated.
  host: { hosts: ['account-settings', 'cert-registry', 'audit', 'gateway'], outdir: 'libs/runtime/dist', name: 'services-host' },
};

/** The file `node` runs for a service in production, relative to the image's /app (any name: a pattern). */
export const serviceBundle = (service) => `services/${service}/dist/main.js`;
/** Built by apps/console/build.mjs, served by the gateway. */
export const CONSOLE_DIST = 'apps/console/dist';

/**
 * Packages the bundles leave to node_modules, each for a reason a bundle cannot cover:
 * - better-sqlite3: a native addon (.node), found through `bindings` at run time;
 * - pg: TypeORM loads its drivers with `require(name)`, a name esbuild cannot follow, so the driver
 *   must be on disk anyway (better-sqlite3 is loaded the same way);
 * - aedes-persistence: the broker loads it through createRequire, which esbuild does not follow, so
 *   aedes must import that same copy;
 * - swagger-ui-dist: not code of ours but the files the gateway serves to browsers for the API
 *   reference (/api/v1/docs), read from the package's directory.
 */
export const EXTERNAL = ['better-sqlite3', 'pg', 'aedes-persistence', 'swagger-ui-dist'];

/**
 * Optional packages that are absent on purpose: native speed-ups of ws and pg, and TypeORM's other
 * drivers. Their `require` sits in a try/catch or behind a driver choice and is never reached.
 */
export const OPTIONAL_ABSENT = [
  'pg-native', 'pg-query-stream', 'pg-cloudflare', 'bufferutil', 'utf-8-validate',
  'mysql2', 'mysql', 'oracledb', 'mssql', 'mongodb', 'redis', 'ioredis', 'sql.js', 'sqlite3', 'expo-sqlite',
  'react-native-sqlite-storage', '@sap/hana-client', '@sap/hana-client/extension/Stream', 'hdb-pool',
  'typeorm-aurora-data-api-driver', '@google-cloud/spanner',
];

/**
 * What the runtime image copies of a kept package when not all of it: better-sqlite3 ships the SQLite
 * sources and its build directory holds the compiler's objects; at run time only the addon is loaded.
 */
export const KEEP_ONLY = {
  'better-sqlite3': ['package.json', 'LICENSE', 'lib', 'build/Release/better_sqlite3.node'],
  // Of the API reference's package, the two files the page loads (no source maps, no other bundles).
  'swagger-ui-dist': ['package.json', 'LICENSE', 'NOTICE', 'swagger-ui-bundle.js', 'swagger-ui.css'],
};

/**
 * Dependencies used only while installing: prebuild-install fetches better-sqlite3's binary;
 * @scarf/scarf is swagger-ui-dist's install-time report, which the install does not even run.
 */
export const INSTALL_ONLY = ['prebuild-install', '@scarf/scarf'];

/** Everything the runtime stage holds besides node_modules, relative to the repository and to /app. */
export const RUNTIME_DIRS = [...SERVICES.map((s) => TARGETS[s].outdir), TARGETS.cli.outdir, TARGETS.host.outdir, CONSOLE_DIST];
