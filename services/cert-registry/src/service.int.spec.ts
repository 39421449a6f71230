// cert-registry in-process against a real nats-server and a real SQLite file or PostgreSQL database.
// account-settings is not running: a fake responder answers TokenVerify and AccountAncestry
// (registry.fixture.ts).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { JetStreamManager } from 'nats';
import { Bus, CodedError } from '@twoway/nats';
import { makeTestPki, waitFor, type TestPki } from '@twoway/testing';
import { OutboxEntity } from '@twoway/persistence';
import { RequestSubjects, SessionsCountRequest, Streams, TrustSetDigestReply, TrustSetReply, type Certificate } from '@twoway/contracts';
import { trustDigest } from '@twoway/pki';
import type { CertRegistryService } from './service.js';
import { silent, startRegistry, type Registry } from './registry.fixture.js';
import { CertificateEntity } from './db/entities.js';
import { CertificateStore } from './db/certificate-store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** A registration as its change events carry it: `expiry` belongs to a REST answer, at the time it is made. */
const stored = ({ expiry: _, ...c }: Certificate): Certificate => c;

/** A self-signed RSA-1024 certificate (libs/pki refuses to issue one, rightly): openssl does. */
function weakRsaCertificate(dir: string): string {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', `${dir}/weak.key`, '-out', `${dir}/weak.pem`, '-subj', '/CN=weak rsa', '-days', '30'], { stdio: 'ignore' });
  return execFileSync('cat', [`${dir}/weak.pem`], { encoding: 'utf8' });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`cert-registry on ${dialect}`, () => {
    let reg: Registry;
    let svc: CertRegistryService;
    let jsm: JetStreamManager;
    let client: Bus;
    let logs: Registry['logs'];
    let pki: TestPki;
    let dir: { path: string };

    before(async () => {
      reg = await startRegistry(dialect);
      ({ svc, jsm, client, logs } = reg);
      dir = reg.dir;
      pki = await makeTestPki();
    });
    after(async () => {
      await reg?.stop();
    });

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string | undefined, payload?: object) => reg.call(method, url, token, payload);
    const certsOf = (account: string) => `/api/v1/accounts/${account}/certificates`;
    const register = (account: string, name: string, pem: string, token = 'admin-a', split = false) =>
      call('POST', `${certsOf(account)}${split ? '?split=true' : ''}`, token, { name, usage: 'MUTUAL_AUTHENTICATION', certificate: pem });
    const lastSeq = (stream: string) => reg.lastSeq(stream);
    const eventsAfter = (stream: string, seq: number, count: number) => reg.eventsAfter(stream, seq, count);
    const rowCount = () => svc.ds.getRepository(CertificateEntity).count();

    it('serves /healthz and a ready /readyz over real HTTP', async () => {
      assert.equal((await fetch(`${svc.httpUrl}/healthz`)).status, 200);
      const r = await fetch(`${svc.httpUrl}/readyz`);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: 'ready', checks: { nats: true, database: true, outbox: true } });
    });

    let rootCert: Certificate;
    it('registers a root: 201 with the parsed fields, and the change and audit events on JetStream', async () => {
      const changes = await lastSeq(Streams.Changes.name);
      const audits = await lastSeq(Streams.Audit.name);
      const r = await register('acct-a', 'Fleet root', pki.root.certPem);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      rootCert = r.body;
      const c = pki.root.cert;
      assert.match(rootCert.id, UUID);
      assert.match(rootCert.createdAt, ISO);
      assert.deepEqual(rootCert, {
        id: rootCert.id,
        accountId: 'acct-a',
        name: 'Fleet root',
        usage: 'MUTUAL_AUTHENTICATION',
        status: 'VALID',
        fingerprint: c.fingerprint,
        subject: c.subject,
        issuer: c.issuer,
        serial: c.serial,
        notBefore: c.notBefore.toISOString(),
        notAfter: c.notAfter.toISOString(),
        kind: 'root',
        keyType: 'EC P-256',
        createdAt: rootCert.createdAt,
        updatedAt: rootCert.createdAt,
        expiry: 'ok',
      });
      const actor = { kind: 'token', id: 'tok-admin-a', name: 'alice', accountId: 'acct-a' };
      const [change] = await eventsAfter(Streams.Changes.name, changes, 1);
      assert.match(change!.data.id, UUID);
      assert.deepEqual(change, {
        subject: 'twoway.v1.cert.added',
        data: { id: change!.data.id, type: 'cert.added', time: rootCert.createdAt, account: 'acct-a', actor, data: { after: stored(rootCert), pem: pki.root.cert.pem } },
      });
      const [audit] = await eventsAfter(Streams.Audit.name, audits, 1);
      assert.match(audit!.data.id, UUID);
      assert.deepEqual(audit, {
        subject: 'twoway.v1.audit.cert.added',
        data: {
          id: audit!.data.id,
          type: 'cert.added',
          time: rootCert.createdAt,
          account: 'acct-a',
          // the ancestry authorisation resolved, so the provider's subtree audit query finds the change
          accountPath: ['acct-a', 'root'],
          actor,
          certificateId: rootCert.id,
          source: 'cert-registry',
          after: 'VALID',
          detail: { name: 'Fleet root', fingerprint: c.fingerprint, subject: c.subject, kind: 'root' },
        },
      });
      // the stored PEM is the canonical re-encoding; the change event carries it (brokers add the
      // registration to the trust sets they hold), the audit event never does
      const row = await svc.ds.getRepository(CertificateEntity).findOneByOrFail({ id: rootCert.id });
      assert.equal(row.pem, c.pem);
      assert.equal(change!.data.data.pem, row.pem);
      assert.ok(!JSON.stringify(audit).includes('BEGIN CERTIFICATE'));
    });

    it('refuses the same certificate again with 409 CERT_DUPLICATE naming the existing id', async () => {
      const r = await register('acct-a', 'again', pki.root.certPem);
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'CERT_DUPLICATE');
      assert.match(r.body.error.message, new RegExp(`already registered in this account as ${rootCert.id}`));
    });

    it('registers the same certificate in another account (duplicates are per account)', async () => {
      const r = await register('acct-b', 'B root', pki.root.certPem, 'admin-b');
      assert.equal(r.status, 201);
      assert.notEqual(r.body.id, rootCert.id);
    });

    let interCert: Certificate;
    let leafCert: Certificate;
    it('registers an intermediate and a pinned leaf (a provisioner may write)', async () => {
      const i = await register('acct-a', 'Batch 7', pki.intermediate.certPem, 'provisioner-a');
      assert.equal(i.status, 201, JSON.stringify(i.body));
      interCert = i.body;
      assert.equal(interCert.kind, 'intermediate');
      const device = await pki.device('pinned-device-1');
      const l = await register('acct-a1', 'Pinned device 1', device.certPem);
      assert.equal(l.status, 201);
      leafCert = l.body;
      assert.equal(leafCert.kind, 'leaf');
      assert.equal(leafCert.accountId, 'acct-a1');
    });

    it('stores a certificate uploaded concurrently exactly once; concurrent writes all commit', async () => {
      const device = await pki.device('raced');
      const results = await Promise.all(Array.from({ length: 4 }, () => register('acct-a', 'raced', device.certPem)));
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409]);
      const winner = results.find((r) => r.status === 201)!.body as Certificate;
      for (const r of results.filter((x) => x.status === 409)) assert.match(r.body.error.message, new RegExp(winner.id));
      const others = await Promise.all(Array.from({ length: 4 }, async (_, i) => register('acct-a', `parallel ${i}`, (await pki.device(`parallel-${i}`)).certPem)));
      assert.deepEqual(others.map((r) => r.status), [201, 201, 201, 201]);
      const flips = await Promise.all(others.map((r) => call('PATCH', `${certsOf('acct-a')}/${r.body.id}`, 'admin-a', { status: 'SUSPENDED' })));
      assert.deepEqual(flips.map((r) => r.body.status), ['SUSPENDED', 'SUSPENDED', 'SUSPENDED', 'SUSPENDED']);
      for (const r of [...others, results.find((x) => x.status === 201)!]) assert.equal((await call('DELETE', `${certsOf('acct-a')}/${r.body.id}`, 'admin-a')).status, 204);
    });

    it('refuses a chain file on the one-entry route with 422 CERT_MULTIPLE pointing at ?split=true', async () => {
      const device = await pki.device('chain-device');
      const r = await register('acct-a', 'chain', device.chainPem);
      assert.equal(r.status, 422);
      assert.equal(r.body.error.code, 'CERT_MULTIPLE');
      assert.match(r.body.error.message, /holds 2 certificates.*POST \/api\/v1\/accounts\/acct-a\/certificates\?split=true/s);
    });

    it('splits a chain file into entries with ?split=true, all-or-nothing', async () => {
      const fresh = await makeTestPki({ fresh: true });
      const device = await fresh.device('split-device');
      const before = await rowCount();
      const changes = await lastSeq(Streams.Changes.name);
      const r = await register('acct-a', 'Fresh chain', device.chainPem + fresh.root.certPem, 'admin-a', true);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.body.items.map((c: Certificate) => [c.name, c.kind, c.fingerprint]), [
        ['Fresh chain #1 (leaf)', 'leaf', device.cert.fingerprint],
        ['Fresh chain #2 (intermediate)', 'intermediate', fresh.intermediate.cert.fingerprint],
        ['Fresh chain #3 (root)', 'root', fresh.root.cert.fingerprint],
      ]);
      assert.equal(await rowCount(), before + 3);
      const events = await eventsAfter(Streams.Changes.name, changes, 3);
      assert.deepEqual(events.map((e) => e.data.data.after.id), r.body.items.map((c: Certificate) => c.id));

      // a second chain sharing the intermediate and root: refused whole, each duplicate reported
      const other = await fresh.device('split-device-2');
      const again = await register('acct-a', 'Overlap', other.chainPem + fresh.root.certPem, 'admin-a', true);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'CERT_DUPLICATE');
      assert.match(again.body.error.message, new RegExp(`nothing was stored: entry 2: .* as ${r.body.items[1].id}; entry 3: .* as ${r.body.items[2].id}`));
      assert.equal(await rowCount(), before + 3);
      await svc.relay.flush();
      assert.equal(await lastSeq(Streams.Changes.name), changes + 3);
    });

    it('refuses private keys (every label) with 422, and neither logs nor stores them', async () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const keys = [
        ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string,
        rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
        ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
      ];
      const before = await rowCount();
      const outboxBefore = await svc.ds.getRepository(OutboxEntity).count();
      for (const [i, key] of keys.entries()) {
        for (const pem of [key, pki.root.certPem + key, key + (await pki.device(`k${i}`)).certPem]) {
          const r = await register('acct-a', 'oops', pem);
          assert.equal(r.status, 422);
          assert.deepEqual(r.body, { error: { code: 'CERT_PRIVATE_KEY_REJECTED', message: 'A private key was submitted; only public certificates are accepted. The key was not stored.' } });
        }
        const secret = key.split('\n')[2]!;
        assert.ok(!logs.text().includes(secret), 'key material reached the log');
      }
      // a body that is not even JSON, with a key in it: refused before any route runs, still not logged
      const raw = await svc.http.inject({ method: 'POST', url: certsOf('acct-a'), headers: { authorization: 'Bearer admin-a', 'content-type': 'application/json' }, payload: `{"certificate": "${keys[0]!.replace(/\n/g, '\\n')}", oops` });
      assert.equal(raw.statusCode, 400);
      assert.ok(!logs.text().includes('PRIVATE KEY'));
      assert.equal(await rowCount(), before);
      assert.equal(await svc.ds.getRepository(OutboxEntity).count(), outboxBefore);
    });

    it('refuses garbage, truncated PEM, weak keys and expired certificates with a message that says why', async () => {
      const garbage = await register('acct-a', 'x', 'this is not a certificate');
      assert.equal(garbage.status, 422);
      assert.equal(garbage.body.error.code, 'CERT_PEM_INVALID');
      assert.match(garbage.body.error.message, /no PEM block found/);
      const truncated = await register('acct-a', 'x', pki.root.certPem.slice(0, 200));
      assert.equal(truncated.status, 422);
      assert.equal(truncated.body.error.code, 'CERT_PEM_INVALID');
      assert.match(truncated.body.error.message, /truncated/);
      const weak = await register('acct-a', 'x', weakRsaCertificate(dir.path));
      assert.equal(weak.status, 422);
      assert.deepEqual(weak.body, { error: { code: 'CERT_INVALID', message: 'weak key: RSA 1024 bits; at least 2048 are required' } });
      const old = await pki.device('expired', { notBefore: new Date(Date.now() - 3 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
      const expired = await register('acct-a', 'x', old.certPem);
      assert.equal(expired.status, 422);
      assert.equal(expired.body.error.code, 'CERT_INVALID');
      assert.match(expired.body.error.message, /expired on .*cannot anchor a chain/);
      const schema = await call('POST', certsOf('acct-a'), 'admin-a', { name: 'x', usage: 'SIGNING', certificate: pki.root.certPem });
      assert.equal(schema.status, 400);
      assert.equal(schema.body.error.code, 'VALIDATION_FAILED');
    });

    it('moves through every status, records each change with who and when, and emits events only for real changes', async () => {
      const changes = await lastSeq(Streams.Changes.name);
      const audits = await lastSeq(Streams.Audit.name);
      const path = `${certsOf('acct-a')}/${interCert.id}`;
      const steps = ['SUSPENDED', 'VALID', 'REVOKED', 'VALID', 'SUSPENDED', 'REVOKED'] as const;
      for (const status of steps) {
        const r = await call('PATCH', path, 'provisioner-a', { status });
        assert.equal(r.status, 200);
        assert.equal(r.body.status, status);
      }
      const same = await call('PATCH', path, 'admin-a', { status: 'REVOKED' });
      assert.equal(same.status, 200);
      assert.equal(same.body.status, 'REVOKED');
      assert.equal((await call('GET', path, 'operator-a')).body.status, 'REVOKED');

      const events = await eventsAfter(Streams.Changes.name, changes, steps.length);
      const actor = { kind: 'token', id: 'tok-prov-a', name: 'pki-robot', accountId: 'acct-a' };
      const befores = ['VALID', ...steps.slice(0, -1)];
      events.forEach((e, i) => {
        assert.match(e.data.id, UUID);
        assert.match(e.data.time, ISO);
        assert.deepEqual(e, {
          subject: 'twoway.v1.cert.status_changed',
          data: {
            id: e.data.id,
            type: 'cert.status_changed',
            time: e.data.time,
            account: 'acct-a',
            actor,
            data: { certificateId: interCert.id, fingerprint: interCert.fingerprint, before: befores[i], after: steps[i] },
          },
        });
      });
      const auditEvents = await eventsAfter(Streams.Audit.name, audits, steps.length);
      assert.deepEqual(
        auditEvents.map((e) => [e.subject, e.data.type, e.data.certificateId, e.data.before, e.data.after, e.data.source, e.data.accountPath]),
        steps.map((s, i) => ['twoway.v1.audit.cert.status_changed', 'cert.status_changed', interCert.id, befores[i], s, 'cert-registry', ['acct-a', 'root']]),
      );
      // the no-op PATCH published nothing
      await svc.relay.flush();
      assert.equal(await lastSeq(Streams.Changes.name), changes + steps.length);
      assert.equal(await lastSeq(Streams.Audit.name), audits + steps.length);

      const history = await svc.store.historyOf(interCert.id);
      assert.deepEqual(
        history.map((h) => [h.before, h.after, h.actorId, h.actorName]),
        [[null, 'VALID', 'tok-prov-a', 'pki-robot'], ...steps.map((s, i) => [befores[i], s, 'tok-prov-a', 'pki-robot'])],
      );
      for (const h of history) assert.ok(h.at instanceof Date && !Number.isNaN(h.at.getTime()));
    });

    it('renames in a PATCH of its own or with a status: audited as cert.renamed, no change for the brokers', async () => {
      const changes = await lastSeq(Streams.Changes.name);
      const audits = await lastSeq(Streams.Audit.name);
      const path = `${certsOf('acct-a')}/${interCert.id}`;
      const historyBefore = (await svc.store.historyOf(interCert.id)).length;
      const renamed = await call('PATCH', path, 'provisioner-a', { name: 'Line 2 intermediate' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'Line 2 intermediate');
      assert.equal(renamed.body.status, 'REVOKED');
      assert.equal((await call('GET', path, 'operator-a')).body.name, 'Line 2 intermediate');
      const [audit] = await eventsAfter(Streams.Audit.name, audits, 1);
      assert.deepEqual(audit, {
        subject: 'twoway.v1.audit.cert.renamed',
        data: {
          id: audit!.data.id,
          type: 'cert.renamed',
          time: audit!.data.time,
          account: 'acct-a',
          accountPath: ['acct-a', 'root'],
          actor: { kind: 'token', id: 'tok-prov-a', name: 'pki-robot', accountId: 'acct-a' },
          certificateId: interCert.id,
          source: 'cert-registry',
          before: { name: 'Batch 7' },
          after: { name: 'Line 2 intermediate' },
          detail: { name: 'Line 2 intermediate', fingerprint: interCert.fingerprint, subject: interCert.subject, kind: 'intermediate' },
        },
      });
      // Both at once: one rename and one status change, in that order; the same name again is nothing.
      const both = await call('PATCH', path, 'admin-a', { name: 'Line 2', status: 'VALID' });
      assert.deepEqual([both.status, both.body.name, both.body.status], [200, 'Line 2', 'VALID']);
      const again = await call('PATCH', path, 'admin-a', { name: 'Line 2' });
      assert.equal(again.status, 200);
      const after = await eventsAfter(Streams.Audit.name, audits + 1, 2);
      assert.deepEqual(after.map((e) => [e.data.type, e.data.before, e.data.after]), [['cert.renamed', { name: 'Line 2 intermediate' }, { name: 'Line 2' }], ['cert.status_changed', 'REVOKED', 'VALID']]);
      await svc.relay.flush();
      assert.equal(await lastSeq(Streams.Audit.name), audits + 3);
      assert.equal(await lastSeq(Streams.Changes.name), changes + 1, 'only the status change reaches the brokers');
      assert.equal((await svc.store.historyOf(interCert.id)).length, historyBefore + 1, 'a rename is not a status change');

      const empty = await call('PATCH', path, 'admin-a', {});
      assert.deepEqual([empty.status, empty.body.error.code], [400, 'VALIDATION_FAILED']);
      const control = await call('PATCH', path, 'admin-a', { name: 'bad\nname' });
      assert.deepEqual([control.status, control.body.error.code], [400, 'VALIDATION_FAILED']);
      assert.equal((await call('PATCH', path, 'operator-a', { name: 'nope' })).body.error.code, 'FORBIDDEN');
      assert.equal((await call('PATCH', path, 'admin-b', { name: 'nope' })).body.error.code, 'ACCOUNT_NOT_FOUND');
      assert.equal((await call('PATCH', `${certsOf('acct-b')}/${interCert.id}`, 'admin-b', { name: 'nope' })).body.error.code, 'CERT_NOT_FOUND');
      // leave it as the tests below expect it
      await call('PATCH', path, 'admin-a', { status: 'REVOKED' });
    });

    it('counts the live sessions a status change would end, over every broker replica that answers, in its account only', async () => {
      const path = `${certsOf('acct-a')}/${interCert.id}/sessions`;
      // No broker at all: nobody answers, nothing is counted, and the answer says so.
      const none = await call('GET', path, 'operator-a');
      assert.deepEqual(none, { status: 200, body: { certificateId: interCert.id, fingerprint: interCert.fingerprint, sessions: 0, accounts: [], accountsTruncated: false, replicas: 0, replicasWithSessions: 0, couldFallBack: 0 } });

      // Two broker replicas (every one answers: no queue group) and one that answers with an error.
      const asked: SessionsCountRequest[] = [];
      const replicas = await Promise.all(
        [
          { replica: 'broker-0', sessions: 3, accounts: [{ accountId: 'acct-a1', sessions: 2 }, { accountId: 'acct-a', sessions: 1 }], accountsTruncated: false },
          { replica: 'broker-1', sessions: 2, accounts: [{ accountId: 'acct-a1', sessions: 2 }], accountsTruncated: false },
          undefined,
        ].map(async (answer, i) => {
          const b = await Bus.connect({ servers: reg.nats.url, name: `fake-broker-${i}`, log: silent });
          b.serve(RequestSubjects.SessionsCount, SessionsCountRequest, (q) => {
            asked.push(q);
            if (!answer) throw new CodedError('UNAVAILABLE');
            return answer;
          }, { queue: false });
          return b;
        }),
      );
      try {
        const r = await call('GET', path, 'operator-a');
        assert.deepEqual(r, {
          status: 200,
          // These replicas say nothing of fallback (as brokers before it did): unknown, not 0.
          body: { certificateId: interCert.id, fingerprint: interCert.fingerprint, sessions: 5, accounts: [{ accountId: 'acct-a1', sessions: 4 }, { accountId: 'acct-a', sessions: 1 }], accountsTruncated: false, replicas: 2, replicasWithSessions: 2, couldFallBack: null },
        });
        assert.deepEqual(asked, Array(3).fill({ fingerprint: interCert.fingerprint, accountId: 'acct-a' }), 'every replica was asked about this registration in its own account');
        // Tenant isolation: another account's token, or its own account with this certificate's id.
        assert.deepEqual([(await call('GET', path, 'admin-b')).body.error.code, (await call('GET', `${certsOf('acct-b')}/${interCert.id}/sessions`, 'admin-b')).body.error.code], ['ACCOUNT_NOT_FOUND', 'CERT_NOT_FOUND']);
        assert.equal((await call('GET', path, undefined)).status, 401);
        assert.equal(asked.length, 3, 'a refused request asks no broker');
      } finally {
        await Promise.all(replicas.map((b) => b.stop()));
      }
    });

    it('answers the trust-set request with every registration of the accounts, any status, and nothing else', async () => {
      const reply = await client.request(RequestSubjects.TrustSetGet, { accountIds: ['acct-a1', 'acct-a', 'root'] }, TrustSetReply);
      const byId = new Map(reply.entries.map((e) => [e.id, e]));
      assert.deepEqual(byId.get(rootCert.id), { id: rootCert.id, accountId: 'acct-a', fingerprint: rootCert.fingerprint, status: 'VALID', kind: 'root', pem: pki.root.cert.pem, updatedAt: rootCert.updatedAt });
      assert.equal(byId.get(interCert.id)?.status, 'REVOKED');
      assert.equal(byId.get(leafCert.id)?.accountId, 'acct-a1');
      assert.ok(reply.entries.every((e) => e.accountId === 'acct-a' || e.accountId === 'acct-a1'), 'acct-b leaked into the trust set');
      assert.equal(reply.entries.length, await svc.ds.getRepository(CertificateEntity).countBy([{ accountId: 'acct-a' }, { accountId: 'acct-a1' }]));
      const bad = await client.nc.request(RequestSubjects.TrustSetGet, new TextEncoder().encode('{"accountIds":[]}'));
      assert.equal(JSON.parse(new TextDecoder().decode(bad.data)).error.code, 'BAD_REQUEST');
    });

    it('serves /metrics: trust-set requests answered over NATS, REST requests by route pattern and status', async () => {
      const scrape = async () => {
        const r = await fetch(`${svc.httpUrl}/metrics`);
        assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
        return r.text();
      };
      const figure = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
      const served = `twoway_nats_requests_served_total{subject="${RequestSubjects.TrustSetGet}"}`;
      const listed = 'twoway_http_requests_total{method="GET",route="/api/v1/accounts/:id/certificates",status="200"}';
      const refused = 'twoway_http_requests_total{method="GET",route="/api/v1/accounts/:id/certificates",status="404"}';
      const before = await scrape();
      await client.request(RequestSubjects.TrustSetGet, { accountIds: ['acct-a'] }, TrustSetReply);
      assert.equal((await call('GET', certsOf('acct-a'), 'admin-a')).status, 200);
      assert.equal((await call('GET', certsOf('acct-a'), 'admin-b')).status, 404);
      const after = await scrape();
      assert.deepEqual([served, listed, refused].map((series) => figure(after, series) - figure(before, series)), [1, 1, 1]);
      assert.doesNotMatch(after, /acct-a/, 'no account id in a label');
    });

    it('pages a trust set far over NATS max_payload: every registration once, each reply within the limit', async () => {
      // 1,400 EC registrations (about 1.3 MB of PEM) in one account: one reply could not carry them.
      const pem = pki.root.cert.pem;
      const now = new Date();
      const rows = Array.from({ length: 1400 }, (_, i) => ({
        id: randomUUID(), accountId: 'acct-big', name: `pinned ${i}`, usage: 'MUTUAL_AUTHENTICATION' as const, status: 'VALID' as const,
        fingerprint: i.toString(16).padStart(64, '0'), subject: 'CN=x', issuer: 'CN=x', serial: String(i), notBefore: now, notAfter: now,
        kind: 'leaf' as const, keyType: 'EC P-256', pem, createdAt: now, updatedAt: now, createdBy: 'tok-test',
      }));
      for (let i = 0; i < rows.length; i += 200) await svc.ds.getRepository(CertificateEntity).insert(rows.slice(i, i + 200));
      const maxPayload = client.nc.info!.max_payload;
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const msg = await client.nc.request(RequestSubjects.TrustSetGet, new TextEncoder().encode(JSON.stringify({ accountIds: ['acct-big'], ...(after ? { after } : {}) })), { timeout: 5000 });
        assert.ok(msg.data.byteLength <= maxPayload, `a page of ${msg.data.byteLength} bytes`);
        const reply = JSON.parse(new TextDecoder().decode(msg.data)) as TrustSetReply;
        pages++;
        seen.push(...reply.entries.map((e) => e.id));
        if (!reply.next) break;
        after = reply.next;
      }
      assert.ok(pages >= 3, `${pages} pages`);
      assert.equal(seen.length, rows.length);
      assert.equal(new Set(seen).size, rows.length, 'a registration came twice');
      assert.deepEqual(new Set(seen), new Set(rows.map((r) => r.id)));
    });

    it('answers a trust set\'s digest: the one a broker computes from the set it fetched, page size aside, and a different one after a change', async () => {
      const fetched = async (accountIds: string[]) => {
        const entries: TrustSetReply['entries'] = [];
        for (let after: string | undefined; ; ) {
          const r = await client.request(RequestSubjects.TrustSetGet, { accountIds, ...(after ? { after } : {}) }, TrustSetReply);
          entries.push(...r.entries);
          if (!r.next) return trustDigest(entries.map((e) => ({ ...e, revocationRevision: e.revocation?.revision ?? 0 })));
          after = r.next;
        }
      };
      const asked = (accountIds: string[]) => client.request(RequestSubjects.TrustSetDigest, { accountIds }, TrustSetDigestReply);
      for (const ancestry of [['acct-big'], ['acct-a1', 'acct-a', 'root']]) assert.deepEqual(await asked(ancestry), await fetched(ancestry), ancestry.join('/'));
      const big = await asked(['acct-big']);
      assert.equal(big.count, 1400);
      // Read in pages of 300 (five queries) it is the same digest: no row skipped or read twice at a boundary.
      assert.deepEqual(await new CertificateStore(svc.ds, async () => true).trustDigest(['acct-big'], 300), big);
      const one = await svc.ds.getRepository(CertificateEntity).findOneByOrFail({ accountId: 'acct-big', name: 'pinned 7' });
      await svc.ds.getRepository(CertificateEntity).update({ id: one.id }, { status: 'SUSPENDED' });
      try {
        const changed = await asked(['acct-big']);
        assert.equal(changed.count, 1400);
        assert.notEqual(changed.digest, big.digest, 'a status change the broker may have missed shows in the digest');
        assert.deepEqual(changed, await fetched(['acct-big']));
      } finally {
        await svc.ds.getRepository(CertificateEntity).update({ id: one.id }, { status: 'VALID' });
      }
    });

    it('lists with filters and cursor pagination', async () => {
      const all = await call('GET', certsOf('acct-a'), 'operator-a');
      assert.equal(all.status, 200);
      assert.equal(all.body.nextCursor, null);
      const ids: string[] = all.body.items.map((c: Certificate) => c.id);
      assert.ok(ids.length >= 5);
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: Certificate[]; nextCursor: string | null } } = await call('GET', `${certsOf('acct-a')}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, 'operator-a');
        assert.ok(page.body.items.length <= 2);
        paged.push(...page.body.items.map((c) => c.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(paged, ids);

      const revoked = await call('GET', `${certsOf('acct-a')}?status=REVOKED`, 'operator-a');
      assert.deepEqual(revoked.body.items.map((c: Certificate) => c.id), [interCert.id]);
      const roots = await call('GET', `${certsOf('acct-a')}?kind=root`, 'operator-a');
      assert.ok(roots.body.items.length >= 2 && roots.body.items.every((c: Certificate) => c.kind === 'root'));
      const byName = await call('GET', `${certsOf('acct-a')}?q=${encodeURIComponent('FLEET ROOT')}`, 'operator-a');
      assert.deepEqual(byName.body.items.map((c: Certificate) => c.id), [rootCert.id]);
      // 'CN=split-device' is only in the subject of the split chain's leaf
      const bySubject = await call('GET', `${certsOf('acct-a')}?q=${encodeURIComponent('SPLIT-device')}`, 'operator-a');
      assert.deepEqual(bySubject.body.items.map((c: Certificate) => [c.name, c.subject]), [['Fresh chain #1 (leaf)', 'CN=split-device']]);
      const wildcard = await call('GET', `${certsOf('acct-a')}?q=%25`, 'operator-a');
      assert.deepEqual(wildcard.body.items, []);
      const colons = rootCert.fingerprint.toUpperCase().match(/../g)!.join(':');
      const byFp = await call('GET', `${certsOf('acct-a')}?fingerprint=${colons}`, 'operator-a');
      assert.deepEqual(byFp.body.items.map((c: Certificate) => c.id), [rootCert.id]);
      // What `twoway certs show NAME|ID-PREFIX` asks: the exact name, the start of the id.
      const exactName = await call('GET', `${certsOf('acct-a')}?name=${encodeURIComponent(rootCert.name)}`, 'operator-a');
      assert.deepEqual(exactName.body.items.map((c: Certificate) => c.id), [rootCert.id]);
      assert.deepEqual((await call('GET', `${certsOf('acct-a')}?name=${encodeURIComponent(rootCert.name.toUpperCase())}`, 'operator-a')).body.items, []);
      const byPrefix = await call('GET', `${certsOf('acct-a')}?idPrefix=${rootCert.id.slice(0, 8)}`, 'operator-a');
      assert.ok(byPrefix.body.items.some((c: Certificate) => c.id === rootCert.id) && byPrefix.body.items.every((c: Certificate) => c.id.startsWith(rootCert.id.slice(0, 8))));
      assert.deepEqual((await call('GET', `${certsOf('acct-a')}?idPrefix=${rootCert.id}`, 'operator-a')).body.items.map((c: Certificate) => c.id), [rootCert.id]);
      assert.equal((await call('GET', `${certsOf('acct-a')}?idPrefix=${encodeURIComponent('ab%')}`, 'operator-a')).status, 400, 'no LIKE wildcard');
      const badCursor = await call('GET', `${certsOf('acct-a')}?cursor=nonsense`, 'operator-a');
      assert.equal(badCursor.status, 400);
    });

    it('keeps tenants apart: a token of B gets 404 on every route of A, and A ids stay invisible from B', async () => {
      const p = `${certsOf('acct-a')}/${rootCert.id}`;
      for (const [method, url, body] of [
        ['GET', certsOf('acct-a'), undefined],
        ['POST', certsOf('acct-a'), { name: 'x', usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem }],
        ['GET', p, undefined],
        ['PATCH', p, { status: 'REVOKED' }],
        ['PATCH', p, { name: 'x' }],
        ['GET', `${p}/sessions`, undefined],
        ['DELETE', p, undefined],
        ['GET', certsOf('acct-a1'), undefined],
      ] as const) {
        const r = await call(method, url, 'admin-b', body);
        assert.deepEqual([method, url, r.status, r.body?.error.code], [method, url, 404, 'ACCOUNT_NOT_FOUND']);
      }
      const inB = `${certsOf('acct-b')}/${rootCert.id}`;
      for (const [method, url, body] of [['GET', inB, undefined], ['PATCH', inB, { status: 'REVOKED' }], ['PATCH', inB, { name: 'x' }], ['GET', `${inB}/sessions`, undefined], ['DELETE', inB, undefined]] as const) {
        const r = await call(method, url, 'admin-b', body);
        assert.deepEqual([method, r.status, r.body?.error], [method, 404, { code: 'CERT_NOT_FOUND', message: 'Certificate not found.' }]);
      }
      // a parent account's token reaches its child; a child id under the parent's path does not
      assert.equal((await call('GET', `${certsOf('acct-a1')}/${leafCert.id}`, 'operator-a')).status, 200);
      assert.equal((await call('GET', `${certsOf('acct-a')}/${leafCert.id}`, 'operator-a')).status, 404);
      assert.equal((await call('GET', `${certsOf('acct-a')}/not-a-uuid`, 'operator-a')).body.error.code, 'CERT_NOT_FOUND');
      assert.equal((await call('GET', certsOf('no-such-account'), 'admin-a')).body.error.code, 'ACCOUNT_NOT_FOUND');
      assert.equal((await call('GET', certsOf('acct-a'), undefined)).status, 401);
      assert.equal((await call('GET', certsOf('acct-a'), 'forged')).body.error.code, 'UNAUTHENTICATED');
      assert.equal((await call('GET', `${certsOf('acct-a')}/${rootCert.id}`, 'operator-a')).body.status, 'VALID');
    });

    it('lets operators read but not write', async () => {
      const device = await pki.device('operator-try');
      for (const [method, url, body] of [
        ['POST', certsOf('acct-a'), { name: 'x', usage: 'MUTUAL_AUTHENTICATION', certificate: device.certPem }],
        ['PATCH', `${certsOf('acct-a')}/${rootCert.id}`, { status: 'SUSPENDED' }],
        ['DELETE', `${certsOf('acct-a')}/${rootCert.id}`, undefined],
      ] as const) {
        const r = await call(method, url, 'operator-a', body);
        assert.deepEqual([method, r.status, r.body.error.code], [method, 403, 'FORBIDDEN']);
      }
      assert.equal((await call('GET', `${certsOf('acct-a')}/${rootCert.id}`, 'operator-a')).body.status, 'VALID');
    });

    it('deletes: 204, gone from reads and the trust set, history kept, deletion events emitted', async () => {
      const changes = await lastSeq(Streams.Changes.name);
      const audits = await lastSeq(Streams.Audit.name);
      const r = await call('DELETE', `${certsOf('acct-a1')}/${leafCert.id}`, 'provisioner-a');
      assert.equal(r.status, 204);
      assert.equal((await call('GET', `${certsOf('acct-a1')}/${leafCert.id}`, 'admin-a')).status, 404);
      assert.equal((await call('DELETE', `${certsOf('acct-a1')}/${leafCert.id}`, 'admin-a')).status, 404);
      const trust = await client.request(RequestSubjects.TrustSetGet, { accountIds: ['acct-a1'] }, TrustSetReply);
      assert.ok(!trust.entries.some((e) => e.id === leafCert.id));
      const actor = { kind: 'token', id: 'tok-prov-a', name: 'pki-robot', accountId: 'acct-a' };
      const [change] = await eventsAfter(Streams.Changes.name, changes, 1);
      assert.deepEqual(change, {
        subject: 'twoway.v1.cert.deleted',
        data: { id: change!.data.id, type: 'cert.deleted', time: change!.data.time, account: 'acct-a1', actor, data: { certificateId: leafCert.id, fingerprint: leafCert.fingerprint, before: stored(leafCert) } },
      });
      const [audit] = await eventsAfter(Streams.Audit.name, audits, 1);
      assert.deepEqual(audit, {
        subject: 'twoway.v1.audit.cert.deleted',
        data: {
          id: audit!.data.id,
          type: 'cert.deleted',
          time: change!.data.time,
          account: 'acct-a1',
          accountPath: ['acct-a1', 'acct-a', 'root'],
          actor,
          certificateId: leafCert.id,
          source: 'cert-registry',
          before: 'VALID',
          detail: { name: 'Pinned device 1', fingerprint: leafCert.fingerprint, subject: leafCert.subject, kind: 'leaf' },
        },
      });
      const history = await svc.store.historyOf(leafCert.id);
      assert.deepEqual(history.map((h) => [h.before, h.after]), [[null, 'VALID'], ['VALID', null]]);
      // registering it again is a new entry (the old id stays gone)
      const again = await register('acct-a1', 'Pinned device 1 again', (await svc.store.trustSet(['acct-a'])).find((e) => e.id === rootCert.id)!.pem);
      assert.equal(again.status, 201);
    });

    it('never logged a request body or PEM', () => {
      const text = logs.text();
      assert.ok(text.length > 0);
      assert.ok(!text.includes('BEGIN CERTIFICATE'));
      assert.ok(!text.includes(pki.root.certPem.split('\n')[1]!));
    });

    it('stop() is idempotent', async () => {
      const a = svc.stop();
      assert.equal(svc.stop(), a);
      await a;
    });
  });
}
