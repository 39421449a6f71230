// The `twoway` executable in a shell pipeline whose reader leaves early (`| head -1`): it must stop
// quietly with exit 0, as Unix tools do, not die with an EPIPE stack trace.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { runToEnd } from '@twoway/testing';

const bin = fileURLToPath(new URL('../bin/twoway.mjs', import.meta.url));
const TOKEN = 'tw_pipe_test';
const LINE = `${JSON.stringify({ id: 'e', type: 'connect.rejected', time: '2026-11-23T10:00:00.000Z', account: 'acc_a', actor: { kind: 'device', id: 'd' }, source: 'broker-0', detail: { pad: 'x'.repeat(200) } })}\n`;
/** Far more than a pipe buffer (64 KiB), so the writer is still writing when `head` has gone. */
const LINES = 20_000;

const api = Fastify({ logger: false, forceCloseConnections: true });
let url = '';
before(async () => {
  api.get('/api/v1/whoami', async () => ({ principal: { tokenId: 't', name: 'n', accountId: 'acc_a', role: 'admin', provider: true } }));
  api.get('/api/v1/accounts/acc_a/audit', (_req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    let i = 0;
    const pump = () => {
      while (i < LINES) {
        i++;
        if (!reply.raw.write(LINE)) return void reply.raw.once('drain', pump);
      }
      reply.raw.end();
    };
    reply.raw.on('close', () => (i = LINES));
    pump();
  });
  url = await api.listen({ port: 0, host: '127.0.0.1' });
});
after(() => api.close());

it('twoway audit export | head -1: the first line, exit 0, nothing on stderr', async () => {
  // pipefail: the pipeline fails if twoway does, not only if head does.
  const r = await runToEnd('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" audit export | head -1`], { env: { ...process.env, TWOWAY_URL: url, TWOWAY_TOKEN: TOKEN, NODE_TEST_CONTEXT: '' } });
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, LINE);
  assert.equal(r.code, 0);
});
