import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { batchMessages, upgradeRefusal } from './websocket.js';

const b = (...sizes: number[]) => sizes.map((n, i) => Buffer.alloc(n, i + 1));
const sizes = (bs: Buffer[]) => bs.map((x) => x.length);

describe('batchMessages: chunks written in one cork become WebSocket messages', () => {
  it('joins the pieces of packets into one message while they fit', () => {
    const out = batchMessages(b(1, 1, 2), 16);
    assert.deepEqual(sizes(out), [4]);
    assert.deepEqual([...out[0]!], [1, 2, 3, 3]);
  });
  it('starts a new message at the bound, in order; a chunk over the bound goes alone', () => {
    assert.deepEqual(sizes(batchMessages(b(6, 6, 6), 12)), [12, 6]);
    assert.deepEqual(sizes(batchMessages(b(2, 20, 2), 12)), [2, 20, 2]);
    assert.deepEqual(sizes(batchMessages([], 12)), []);
  });
});

describe('upgradeRefusal: only /mqtt offering the mqtt subprotocol', () => {
  const req = (url: string, protocol?: string) => ({ url, headers: protocol === undefined ? {} : { 'sec-websocket-protocol': protocol } }) as unknown as IncomingMessage;
  const table: [string, string | undefined, string | undefined][] = [
    ['/mqtt', 'mqtt', undefined],
    ['/mqtt?x=1', 'chat, mqtt', undefined],
    ['/mqtt', 'mqttv3.1', undefined],
    ['/mqtt', undefined, 'subprotocol'],
    ['/mqtt', 'chat', 'subprotocol'],
    ['/mqtt', 'mqtt5', 'subprotocol'],
    ['/', 'mqtt', 'path'],
    ['/mqtt/', 'mqtt', 'path'],
    ['/MQTT', 'mqtt', 'path'],
  ];
  for (const [url, protocol, reason] of table) {
    it(`${url} offering ${protocol ?? 'nothing'} → ${reason ?? 'taken'}`, () => {
      assert.equal(upgradeRefusal(req(url, protocol))?.reason, reason);
    });
  }
});
