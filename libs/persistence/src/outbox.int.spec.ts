import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { consumerOpts, StringCodec } from 'nats';
import { Bus } from '@twoway/nats';
import { NatsServer, Postgres, tempDir, waitFor } from '@twoway/testing';
import { openDatabase, OutboxRelay, enqueueEvent, CreateOutbox1700000000000, OutboxEntity } from '@twoway/persistence';
import { ChangeSubjects } from '@twoway/contracts';
import { IsNull } from 'typeorm';

const silent = { warn() {}, error() {} };

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`outbox relay on ${dialect}`, () => {
    let nats: NatsServer;
    let pg: Postgres | undefined;
    let url: string | undefined;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    before(async () => {
      nats = await NatsServer.start();
      dir = await tempDir();
      if (dialect === 'postgres') {
        pg = await Postgres.start();
        url = await pg.createDatabase('outbox');
      }
    });
    after(async () => {
      await nats?.stop();
      await pg?.stop();
      await dir?.[Symbol.asyncDispose]();
    });

    it('publishes a committed event once, and a second pass publishes nothing more', async () => {
      const ds = await openDatabase({ url, dataDir: dir.path, defaultFile: 'o.sqlite', entities: [OutboxEntity], migrations: [CreateOutbox1700000000000] });
      const bus = await Bus.connect({ servers: nats.url, name: 'test', log: silent });
      await bus.ensureStreams();
      const relay = OutboxRelay.start({ ds, publisher: bus, log: silent, pollMs: 100 });
      try {
        const id = randomUUID();
        await ds.transaction((em) => enqueueEvent(em, ChangeSubjects.CertAdded, { id, hello: 'world' } as { id: string }));
        relay.kick();
        await waitFor(async () => (await ds.getRepository(OutboxEntity).findOneBy({ id }))?.publishedAt, { what: 'published' });
        // a second relay pass must not publish it again (and the stream deduplicates by id anyway)
        await relay.flush();
        const jsm = await bus.jsm();
        const info = await jsm.streams.info('TWOWAY_CHANGES');
        assert.equal(info.state.messages, 1);
        const sc = StringCodec();
        const sub = await bus.js.pullSubscribe(ChangeSubjects.CertAdded, consumerOpts().deliverAll().ackExplicit());
        sub.pull({ batch: 1, expires: 1000 });
        for await (const m of sub) {
          assert.deepEqual(JSON.parse(sc.decode(m.data)), { id, hello: 'world' });
          m.ack();
          break;
        }
      } finally {
        await relay.stop();
        await bus.stop();
        await ds.destroy();
      }
    });

    it('prune deletes published rows past the retention, a batch at a time, and never a pending or recent one', async () => {
      // A database of its own: the other tests' rows would be past this test's retention too.
      const own = pg ? await pg.createDatabase('outbox_prune') : undefined;
      const ds = await openDatabase({ url: own, dataDir: dir.path, defaultFile: 'prune.sqlite', entities: [OutboxEntity], migrations: [CreateOutbox1700000000000] });
      // Publishing always fails here, so pending rows stay pending; no pruning of its own (retention 0).
      const failing = { publishRaw: () => Promise.reject(new Error('NATS away in this test')) };
      const relay = OutboxRelay.start({ ds, publisher: failing, log: silent, pollMs: 600_000, retentionMs: 0 });
      const repo = ds.getRepository(OutboxEntity);
      try {
        const now = new Date('2030-01-01T12:00:00.000Z');
        const at = (msAgo: number) => new Date(now.getTime() - msAgo);
        const row = (i: number, createdAt: Date, publishedAt: Date | null) => ({ id: `r-${i}`, subject: ChangeSubjects.CertAdded, payload: '{}', traceparent: null, createdAt, publishedAt });
        const rows = [
          ...Array.from({ length: 2_500 }, (_, i) => row(i, at(3 * 3600_000), at(2 * 3600_000))), // published 2 h ago
          ...Array.from({ length: 5 }, (_, i) => row(10_000 + i, at(3 * 3600_000), at(60_000))), // published a minute ago
          ...Array.from({ length: 5 }, (_, i) => row(20_000 + i, at(3 * 3600_000), null)), // still pending, old
        ];
        for (let i = 0; i < rows.length; i += 100) await repo.insert(rows.slice(i, i + 100));
        assert.equal(await relay.prune(3600_000, 1_000, now), 2_500);
        const left = await repo.find({ order: { seq: 'ASC' } });
        assert.deepEqual(left.map((r) => r.id), [...Array.from({ length: 5 }, (_, i) => `r-${10_000 + i}`), ...Array.from({ length: 5 }, (_, i) => `r-${20_000 + i}`)]);
        assert.equal(await relay.prune(3600_000, 1_000, now), 0, 'a second pass finds nothing');
        // An hour later the recent ones are past the retention too; the pending ones never go.
        assert.equal(await relay.prune(3600_000, 2, new Date(now.getTime() + 3600_000)), 5);
        assert.deepEqual((await repo.find()).map((r) => r.publishedAt), [null, null, null, null, null]);
      } finally {
        await relay.stop();
        await ds.destroy();
      }
    });

    it('announces every pending row before its publish, even while the stream cannot store it, and again at each retry; nothing while disconnected', async () => {
      const ds = await openDatabase({ url, dataDir: dir.path, defaultFile: 'announce.sqlite', entities: [OutboxEntity], migrations: [CreateOutbox1700000000000] });
      const calls: string[] = [];
      let connected = false;
      let storing = false;
      // Stands in for a stream without a leader, then a disconnected client, then both back.
      const publisher = {
        announceRaw: (subject: string, payload: string) => {
          if (!connected) return false;
          calls.push(`announce ${subject} ${(JSON.parse(payload) as { id: string }).id}`);
          return true;
        },
        publishRaw: async (subject: string, id: string) => {
          calls.push(`publish ${subject} ${id}`);
          if (!storing) throw new Error('no stream leader in this test');
        },
      };
      const relay = OutboxRelay.start({ ds, publisher, log: silent, pollMs: 600_000 });
      const repo = ds.getRepository(OutboxEntity);
      try {
        await relay.flush();
        await repo.clear();
        const ids = ['a', 'b', 'c'].map((x) => `${x}-${randomUUID()}`);
        await ds.transaction(async (em) => {
          for (const id of ids) await enqueueEvent(em, ChangeSubjects.CertStatusChanged, { id });
        });
        // Disconnected: nothing announced, the publish fails.
        await relay.flush();
        assert.deepEqual(calls, [`publish ${ChangeSubjects.CertStatusChanged} ${ids[0]}`]);
        // Connected, the stream still cannot store: all three announced before the first publish.
        connected = true;
        calls.length = 0;
        await relay.flush();
        assert.deepEqual(calls, [...ids.map((id) => `announce ${ChangeSubjects.CertStatusChanged} ${id}`), `publish ${ChangeSubjects.CertStatusChanged} ${ids[0]}`]);
        // The stream stores again: announced once more (a broker that was reconnecting missed them), then each published in order.
        storing = true;
        calls.length = 0;
        await relay.flush();
        assert.deepEqual(calls, [...ids.map((id) => `announce ${ChangeSubjects.CertStatusChanged} ${id}`), ...ids.map((id) => `publish ${ChangeSubjects.CertStatusChanged} ${id}`)]);
        // Published: nothing left to announce or publish.
        calls.length = 0;
        await relay.flush();
        assert.deepEqual(calls, []);
        assert.equal(await repo.countBy({ publishedAt: IsNull() }), 0);
      } finally {
        await relay.stop();
        await ds.destroy();
      }
    });

    it('announces the pending rows again every pollMs while a publish waits for the stream', async () => {
      const ds = await openDatabase({ url, dataDir: dir.path, defaultFile: 'reannounce.sqlite', entities: [OutboxEntity], migrations: [CreateOutbox1700000000000] });
      let announced = 0;
      let stored: (() => void) | undefined;
      const publisher = {
        announceRaw: () => {
          // The publish below is answered only once the row was announced three times meanwhile.
          if (++announced === 3) stored?.();
          return true;
        },
        publishRaw: () => new Promise<void>((r) => (stored = r)),
      };
      const relay = OutboxRelay.start({ ds, publisher, log: silent, pollMs: 50 });
      const repo = ds.getRepository(OutboxEntity);
      try {
        await relay.flush();
        await repo.clear();
        announced = 0;
        const id = randomUUID();
        await ds.transaction((em) => enqueueEvent(em, ChangeSubjects.CertStatusChanged, { id }));
        relay.kick();
        await waitFor(async () => (await repo.findOneBy({ id }))?.publishedAt, { timeoutMs: 5_000, what: 'published after three announcements' });
        const n = announced;
        await relay.flush();
        assert.equal(announced, n, 'published: not announced again');
      } finally {
        stored?.(); // a publish still waiting (the test failed) must not hold the relay's stop
        await relay.stop();
        await ds.destroy();
      }
    });

    it('settle() answers once the commit before it is published; with NATS away it answers false within its bound and keeps the row', async () => {
      const own = await NatsServer.start();
      const ds = await openDatabase({ url, dataDir: dir.path, defaultFile: 'settle.sqlite', entities: [OutboxEntity], migrations: [CreateOutbox1700000000000] });
      const bus = await Bus.connect({ servers: own.url, name: 'test-settle', log: silent });
      // No polling during the test: only settle() publishes.
      const relay = OutboxRelay.start({ ds, publisher: bus, log: silent, pollMs: 600_000 });
      const repo = ds.getRepository(OutboxEntity);
      try {
        await bus.ensureStreams();
        await relay.flush();
        const id = randomUUID();
        await ds.transaction((em) => enqueueEvent(em, ChangeSubjects.CertStatusChanged, { id } as { id: string }));
        assert.equal(await relay.settle(5_000), true);
        assert.ok((await repo.findOneBy({ id }))?.publishedAt, 'published before settle() answered');
        assert.equal((await (await bus.jsm()).streams.info('TWOWAY_CHANGES')).state.messages >= 1, true);

        await own.stop();
        await waitFor(() => !bus.connected, { what: 'the bus to see NATS gone' });
        const id2 = randomUUID();
        await ds.transaction((em) => enqueueEvent(em, ChangeSubjects.CertStatusChanged, { id: id2 } as { id: string }));
        const t = Date.now();
        assert.equal(await relay.settle(300), false);
        assert.ok(Date.now() - t < 2_000, `settle() waited ${Date.now() - t} ms`);
        assert.equal((await repo.findOneBy({ id: id2 }))?.publishedAt, null, 'the row waits in the outbox');
        // Once the relay knows NATS is away, a write does not wait at all.
        await waitFor(() => !relay.healthy, { timeoutMs: 15_000, what: 'the relay to report the failed publish' });
        const t2 = Date.now();
        assert.equal(await relay.settle(5_000), false);
        assert.ok(Date.now() - t2 < 100, `settle() waited ${Date.now() - t2} ms with NATS known away`);
      } finally {
        await relay.stop();
        await bus.stop();
        await ds.destroy();
        await own.stop();
      }
    });
  });
}
