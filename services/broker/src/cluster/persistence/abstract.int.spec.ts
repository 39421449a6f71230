// aedes-persistence's own conformance suite against the JetStream persistence, one fresh set of buckets
// and streams per test so tests do not see each other.
import { test, before, after } from 'node:test';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { NatsServer } from '@twoway/testing';
import { createNatsPersistence } from './nats-persistence.js';

const require = createRequire(import.meta.url);
const abstract = require('aedes-persistence/abstract.js') as (opts: { test: typeof test; persistence: () => Promise<unknown>; testAsync: boolean }) => void;
const silent = { info() {}, warn() {}, error() {} };

let nats: NatsServer;
let nc: NatsConnection;
before(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url, name: 'abstract-suite' });
});
after(async () => {
  await nc?.close();
  await nats?.stop();
});

abstract({
  test,
  testAsync: true,
  persistence: async () => {
    const store = await createNatsPersistence({ nc, replicaId: 'r1', log: silent, prefix: `abs_${randomUUID().slice(0, 8)}` });
    return store.persistence;
  },
});
