// Bare aedes (defaults: in-memory mq and persistence) in a process of its own so its CPU is counted
// apart: the reference of the message and connect benchmarks.
//   node --import tsx test/bench/bare-aedes.ts PORT                      plain TCP, no authentication
//   node --import tsx test/bench/bare-aedes.ts PORT --tls CONFIG.json    node:tls, client certificate
//     required and verified against the CA file, MQTT username/password checked against the list:
//     the same rule Mosquitto is given (CONFIG: { cert, key, ca, passwords: { user: password } } files/values)
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import { timingSafeEqual, createHash } from 'node:crypto';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const tlsConfig = process.argv[3] === '--tls' ? (JSON.parse(readFileSync(process.argv[4]!, 'utf8')) as { cert: string; key: string; ca: string; passwords: Record<string, string> }) : undefined;

// Compared as digests so the comparison takes the same time whatever the lengths.
const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();
const passwords = new Map(Object.entries(tlsConfig?.passwords ?? {}).map(([u, p]) => [u, digest(p)]));
const broker = await Aedes.createBroker(
  tlsConfig
    ? {
        authenticate: (_client, username, password, done) => {
          const want = username === undefined ? undefined : passwords.get(username);
          const ok = want !== undefined && password !== undefined && timingSafeEqual(want, digest(password));
          done(null, ok);
        },
      }
    : {},
);
// As twoway's MQTT listeners (noDelay), so neither side waits on Nagle.
const server = tlsConfig
  ? createTlsServer({ cert: readFileSync(tlsConfig.cert), key: readFileSync(tlsConfig.key), ca: readFileSync(tlsConfig.ca), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', noDelay: true }, broker.handle)
  : createServer({ noDelay: true }, broker.handle);
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
