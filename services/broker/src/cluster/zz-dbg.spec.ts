import { it } from 'node:test';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
it('x', async () => {
  const broker = await Aedes.createBroker({ id: 'b-aedes' });
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const c = await mqtt.connectAsync(url, { clientId: 'att', reconnectPeriod: 0 });
  c.on('close', () => console.log('closed'));
  console.log('pub');
  await c.publishAsync('$SYS/a-aedes/new/clients', 'victim-1', { qos: 1 }).then(() => console.log('acked'), (e) => console.log('err', e));
  await c.endAsync(true); broker.close(); server.close();
});
