// coalesceWrites on real TCP and TLS sockets: the writes of one turn leave together, in order, and a
// packet written just before a destroy still reaches the peer.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { makeTestPki, waitFor } from '@twoway/testing';
import { coalesceWrites } from './write-coalescer.js';

/** A connected pair: `server` is the accepted side (coalesced by the caller), `received` what the client read. */
async function tcpPair(t: TestContext): Promise<{ server: Socket; client: Socket; received: () => Buffer }> {
  const srv = createServer({ noDelay: true });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.after(() => srv.close());
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  const client = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  t.after(() => client.destroy());
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  const [server] = await accepted;
  t.after(() => server.destroy());
  return { server, client, received: () => Buffer.concat(chunks) };
}

/** Counts the writes a stream hands to its handle (one per syscall, or per TLS record run). */
function countFlushes(s: Socket): { writes: number; chunks: number } {
  const seen = { writes: 0, chunks: 0 };
  const internals = s as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const w = internals._write;
  const wv = internals._writev;
  internals._write = function (this: unknown, ...a: unknown[]) {
    seen.writes++;
    seen.chunks++;
    return w.apply(this, a);
  };
  internals._writev = function (this: unknown, chunks: unknown[], cb: unknown) {
    seen.writes++;
    seen.chunks += chunks.length;
    return wv.call(this, chunks, cb);
  };
  return seen;
}

const packets = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`packet-${String(i).padStart(3, '0')};`));

describe('coalesceWrites', () => {
  it('sends the 50 writes of one turn as one write, in order, and the writes of the next turn as another', async (t) => {
    const { server, received } = await tcpPair(t);
    coalesceWrites(server);
    const seen = countFlushes(server);
    const first = packets(50);
    // Each from its own callback, as aedes writes to a subscriber: one message after another.
    await new Promise<void>((resolve) => {
      for (const p of first) process.nextTick(() => server.write(p));
      process.nextTick(resolve);
    });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, { writes: 1, chunks: 50 });
    server.write('next-turn;');
    await waitFor(() => received().toString().endsWith('next-turn;'), { what: 'the second turn to arrive' });
    assert.equal(seen.writes, 2);
    assert.equal(received().toString(), Buffer.concat(first).toString() + 'next-turn;');
  });

  it('delivers a packet written just before destroy (a CONNACK refusal, then the close)', async (t) => {
    const { server, client, received } = await tcpPair(t);
    coalesceWrites(server);
    const connackRefused = Buffer.from([0x20, 0x02, 0x00, 0x05]);
    server.write(connackRefused);
    server.destroy();
    await once(client, 'close');
    assert.deepEqual(received(), connackRefused);
  });

  it('lets end() flush what was written in the same turn', async (t) => {
    const { server, client, received } = await tcpPair(t);
    coalesceWrites(server);
    server.write('last words;');
    server.end();
    await once(client, 'end');
    assert.equal(received().toString(), 'last words;');
  });

  it('coalesces on TLS too: the turn leaves as one write to the TLS layer', async (t) => {
    const pki = await makeTestPki();
    const srv = createTlsServer({ cert: pki.server.chainPem, key: pki.server.keyPem, minVersion: 'TLSv1.2' });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    t.after(() => srv.close());
    const accepted = once(srv, 'secureConnection') as Promise<[TLSSocket]>;
    const client = tlsConnect({ port: (srv.address() as AddressInfo).port, host: '127.0.0.1', ca: pki.root.certPem, servername: 'localhost' });
    t.after(() => client.destroy());
    let text = '';
    client.on('data', (d: Buffer) => (text += d.toString()));
    const [server] = await accepted;
    t.after(() => server.destroy());
    coalesceWrites(server);
    const seen = countFlushes(server);
    for (const p of packets(20)) server.write(p);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, { writes: 1, chunks: 20 });
    await waitFor(() => text.length === Buffer.concat(packets(20)).length, { what: 'the 20 packets over TLS' });
    assert.equal(text, Buffer.concat(packets(20)).toString());
  });
});
