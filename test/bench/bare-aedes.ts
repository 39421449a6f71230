// Bare aedes (defaults: in-memory mq and persistence, no authentication) on plain TCP, in a process of
// its own so its CPU is counted apart: the reference of message-path.bench.ts.
//   node --import tsx test/bench/bare-aedes.ts PORT
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
// As twoway's MQTT listeners (noDelay), so neither side waits on Nagle.
const server = createServer({ noDelay: true }, broker.handle);
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
