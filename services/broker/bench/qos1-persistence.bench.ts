// QoS 1 messages per second to one persistent session, with the JetStream persistence and with aedes'
// in-memory persistence. The in-memory one is measured on one replica only: across replicas its
// outgoingUpdate rejects the remote packet and aedes disconnects the persistent subscriber.
//   node --import tsx services/broker/bench/qos1-persistence.bench.ts [messages] [window]
import { createServer, type AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { connect } from 'nats';
import { NatsServer } from '@twoway/testing';
import { createNatsMqEmitter } from '../src/cluster/index.js';
import { createNatsPersistence } from '../src/cluster/persistence/nats-persistence.js';

const silent = { info() {}, warn() {}, error() {} };
const total = Number(process.argv[2] ?? 5000);
const window = Number(process.argv[3] ?? 100);

async function run(nats: NatsServer, kind: 'jetstream' | 'memory', across: boolean): Promise<number> {
  const prefix = `bench_${randomUUID().slice(0, 8)}`;
  const stops: (() => Promise<unknown>)[] = [];
  const replica = async (name: string) => {
    const nc = await connect({ servers: nats.url, name });
    const mq = createNatsMqEmitter({ nc, replicaId: name, log: silent, subject: `${prefix}.published` });
    await mq.ready();
    const store = kind === 'jetstream' ? await createNatsPersistence({ nc, replicaId: name, log: silent, prefix }) : undefined;
    const broker = await Aedes.createBroker({ id: name, mq, ...(store ? { persistence: store.persistence as unknown as AedesOptions['persistence'] } : {}) });
    const server = createServer(broker.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(async () => {
      await new Promise((r) => server.close(r));
      await new Promise<void>((r) => broker.close(() => r()));
      await store?.stop();
      await nc.close();
    });
    return `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const a = await replica('a');
  const b = across ? await replica('b') : a;
  const sub: MqttClient = await mqtt.connectAsync(a, { clientId: 'acct/bench-sub', clean: false, reconnectPeriod: 0 });
  await sub.subscribeAsync('acct/bench', { qos: 1 });
  const pub: MqttClient = await mqtt.connectAsync(b, { clientId: 'acct/bench-pub', clean: true, reconnectPeriod: 0 });
  let received = 0;
  const done = new Promise<void>((resolve) => sub.on('message', () => ++received === total && resolve()));
  const payload = Buffer.alloc(64, 1);
  const started = performance.now();
  for (let sent = 0; sent < total; sent += window) {
    await Promise.all(Array.from({ length: Math.min(window, total - sent) }, () => pub.publishAsync('acct/bench', payload, { qos: 1 })));
  }
  await done;
  const rate = total / ((performance.now() - started) / 1000);
  await sub.endAsync(true);
  await pub.endAsync(true);
  for (const s of stops.reverse()) await s();
  return rate;
}

const nats = await NatsServer.start();
try {
  console.log(`node --import tsx services/broker/bench/qos1-persistence.bench.ts ${total} ${window}`);
  const cases = [['memory', false], ['jetstream', false], ['jetstream', true]] as const;
  for (let round = 0; round < 2; round++) {
    for (const [kind, across] of cases) {
      const rate = await run(nats, kind, across);
      console.log(`${kind.padEnd(9)} ${across ? 'A→B' : 'A→A'} ${Math.round(rate)} msg/s (QoS 1, 64 B, persistent subscriber, ${window} in flight)`);
    }
  }
} finally {
  await nats.stop();
}
