// @twoway/testing: real servers for tests (nats-server, PostgreSQL), ports, waiting, owned processes.
export { freePort, waitFor } from './ports.js';
export { OwnedProcess, MissingBinaryError } from './process.js';
export { NatsServer } from './nats-server.js';
export { NatsCluster } from './nats-cluster.js';
export type { NatsConnInfo } from './nats-cluster.js';
export { Postgres } from './postgres.js';
export { tempDir } from './temp-dir.js';
export { makeTestPki } from './pki-fixtures.js';
export { issueCrl, opensslCrl, crlPem } from './crl-fixtures.js';
export type { TestCrlOptions } from './crl-fixtures.js';
export type { TestPki, TestDeviceOptions } from './pki-fixtures.js';
export { System } from './system.js';
export type { SystemOptions } from './system.js';
export { openLean, connectPacket, fixedHeader, wallNow } from './lean-mqtt.js';
export type { LeanDevice, LeanSession } from './lean-mqtt.js';
export { Fleet } from './fleet.js';
export type { FleetClosed } from './fleet.js';
