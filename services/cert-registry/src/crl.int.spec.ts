// CRLs, revoked-serial entries and CRL distribution points of registered CAs, through the real
// cert-registry on a real nats-server and SQLite or PostgreSQL: uploads that are stored or refused with
// their reason, revoke/restore by serial, the pages brokers read (100,000 serials from `openssl ca`),
// tenant isolation, and fetching from a distribution point served by an HTTP server this test starts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestSubjects, Streams, RevokedSerialsReply, TrustSetReply, type Revocation } from '@twoway/contracts';
import { createRootCa, issueDeviceCert, issueIntermediateCa, normalizeSerial, type Issued } from '@twoway/pki';
import { crlPem, issueCrl, opensslCrl, waitFor } from '@twoway/testing';
import { startRegistry, type Registry } from './registry.fixture.js';
import { RevocationStateEntity, RevokedSerialEntity } from './db/entities.js';

const MAX_CRL_BYTES = 8 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 1500;

/** The CRL distribution point: an HTTP server whose answers the test sets per path. */
async function distributionPoint(): Promise<{ url: (path: string) => string; serve: Map<string, Uint8Array>; hits: Map<string, number>; close(): Promise<void> }> {
  const serve = new Map<string, Uint8Array>();
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/redirect') return void res.writeHead(302, { location: '/ca.crl' }).end();
    if (path === '/to-ftp') return void res.writeHead(302, { location: 'ftp://127.0.0.1/ca.crl' }).end();
    if (path === '/slow') return; // never answers
    if (path === '/big') {
      // Chunked, no Content-Length: the bound has to hold while reading.
      res.writeHead(200, { 'content-type': 'application/pkix-crl' });
      const chunk = Buffer.alloc(1024 * 1024, 0x30);
      for (let i = 0; i < 9; i++) res.write(chunk);
      return void res.end();
    }
    const body = serve.get(path);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/pkix-crl', 'content-length': body.length }).end(Buffer.from(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    serve,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`cert-registry CRLs and revoked serials on ${dialect}`, () => {
    let reg: Registry;
    let dp: Awaited<ReturnType<typeof distributionPoint>>;
    const c: Record<string, Issued> = {};
    const ids: Record<string, string> = {};
    const fps: Record<string, string> = {};
    let firstCrl: Uint8Array;

    before(async () => {
      reg = await startRegistry(dialect, {
        TWOWAY_CRL_FETCH_INTERVAL_MS: '1000',
        TWOWAY_CRL_FETCH_TIMEOUT_MS: String(FETCH_TIMEOUT_MS),
        TWOWAY_CRL_MAX_BYTES: String(MAX_CRL_BYTES),
        TWOWAY_REVOKED_SERIALS_MAX: '3',
      });
      dp = await distributionPoint();
      c.root = await createRootCa({ commonName: 'CRL estate root' });
      c.impostor = await createRootCa({ commonName: 'CRL estate root' }); // same name, another key
      c.other = await createRootCa({ commonName: 'Another estate' });
      c.inter = await issueIntermediateCa({ issuer: c.root, commonName: 'CRL estate batch 7' });
      c.fetched = await issueIntermediateCa({ issuer: c.root, commonName: 'CRL estate batch 8' });
      c.dev1 = await issueDeviceCert({ issuer: c.root, commonName: 'crl-dev-1' });
      c.leaf = await issueDeviceCert({ issuer: c.inter, commonName: 'crl-pinned' });
      for (const k of ['root', 'inter', 'fetched', 'leaf'] as const) {
        const r = await reg.call('POST', '/api/v1/accounts/acct-a/certificates', 'admin-a', { name: k, usage: 'MUTUAL_AUTHENTICATION', certificate: c[k]!.certPem });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        ids[k] = r.body.id;
        fps[k] = r.body.fingerprint;
      }
    });
    after(async () => {
      await dp?.close();
      await reg?.stop();
    });

    const crlOf = (k: string, account = 'acct-a') => `/api/v1/accounts/${account}/certificates/${ids[k] ?? k}/crl`;
    const serialsOf = (k: string, account = 'acct-a') => `/api/v1/accounts/${account}/certificates/${ids[k] ?? k}/revoked-serials`;
    const upload = (k: string, crl: string | Uint8Array, token = 'admin-a') =>
      reg.call('PUT', crlOf(k), token, { crl: typeof crl === 'string' ? crl : Buffer.from(crl).toString('base64') });
    const seqs = async () => ({ changes: await reg.lastSeq(Streams.Changes.name), audit: await reg.lastSeq(Streams.Audit.name) });
    const serialsReply = (certificateId: string, after?: string) => reg.client.request(RequestSubjects.RevokedSerialsGet, { certificateId, ...(after ? { after } : {}) }, RevokedSerialsReply);

    it('stores a CA\'s CRL (PEM): 200 with thisUpdate, nextUpdate, number and entries, and its change and audit events', async () => {
      const s0 = await seqs();
      const thisUpdate = new Date(Date.now() - 3600_000);
      const nextUpdate = new Date(Date.now() + 7 * 86_400_000);
      firstCrl = issueCrl(c.root!, { serials: [c.dev1!.cert.serial, '0ABC'], number: 1, thisUpdate, nextUpdate });
      const pem = crlPem(firstCrl);
      const r = await upload('root', pem);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const expected: Revocation = {
        certificateId: ids.root!,
        crl: {
          issuer: c.root!.cert.subject,
          thisUpdate: new Date(Math.floor(thisUpdate.getTime() / 1000) * 1000).toISOString(),
          nextUpdate: new Date(Math.floor(nextUpdate.getTime() / 1000) * 1000).toISOString(),
          number: '1',
          entries: 2,
          fingerprint: r.body.crl.fingerprint,
          source: 'upload',
          updatedAt: r.body.crl.updatedAt,
          stale: false,
        },
        distributionPoint: null,
        revokedSerials: 0,
      };
      assert.deepEqual(r.body, expected);
      assert.match(expected.crl!.fingerprint, /^[0-9a-f]{64}$/);
      assert.deepEqual((await reg.call('GET', crlOf('root'), 'operator-a')).body, expected, 'read back (any role reads)');

      const [change] = await reg.eventsAfter(Streams.Changes.name, s0.changes, 1);
      assert.equal(change!.subject, 'twoway.v1.cert.revocation_changed');
      // With the data as trust sets carry it, so brokers update theirs in place.
      const dates = { thisUpdate: expected.crl!.thisUpdate, nextUpdate: expected.crl!.nextUpdate };
      assert.deepEqual(change!.data.data, { certificateId: ids.root, fingerprint: fps.root, revision: 1, change: 'crl_updated', revocation: { revision: 1, serials: 2, crl: dates } });
      const [audit] = await reg.eventsAfter(Streams.Audit.name, s0.audit, 1);
      assert.equal(audit!.subject, 'twoway.v1.audit.cert.crl_updated');
      assert.equal(audit!.data.certificateId, ids.root);
      assert.deepEqual(audit!.data.accountPath, ['acct-a', 'root']);
      assert.deepEqual(audit!.data.actor, { kind: 'token', id: 'tok-admin-a', name: 'alice', accountId: 'acct-a' });
      assert.equal(audit!.data.before, null);
      assert.deepEqual(audit!.data.detail, { name: 'root', fingerprint: fps.root, subject: c.root!.cert.subject, kind: 'root', crl: audit!.data.after, source: 'upload', added: 2, removed: 0 });
      assert.equal(audit!.data.after.number, '1');
      assert.ok(!JSON.stringify(audit!.data).includes(pem.split('\n')[1]!), 'the CRL itself is not in the event');
    });

    it('takes the same CRL again, as DER (base64), without a change or an event', async () => {
      const s0 = await seqs();
      const before = (await reg.call('GET', crlOf('root'), 'admin-a')).body;
      const r = await upload('root', firstCrl);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, before);
      assert.deepEqual(await seqs(), s0);
    });

    it('refuses what cannot be this CA\'s CRL, saying why, and stores nothing', async () => {
      const s0 = await seqs();
      const before = (await reg.call('GET', crlOf('root'), 'admin-a')).body;
      const delta = issueCrl(c.root!, { number: 9, extensions: [{ oid: '2.5.29.27', critical: true, value: Uint8Array.of(0x02, 0x01, 0x01) }] });
      const cases: [string, string | Uint8Array, string, number, string, RegExp][] = [
        ['garbage', 'this is not a CRL', 'root', 422, 'CRL_INVALID', /neither DER nor valid PEM/],
        ['a certificate', c.dev1!.certPem, 'root', 422, 'CRL_INVALID', /CERTIFICATE, not an X509 CRL/],
        ['a CRL under its name signed by another key', issueCrl(c.root!, { number: 9, signedBy: c.impostor }), 'root', 422, 'CRL_SIGNATURE_INVALID', /signed by another key/],
        ['another CA\'s CRL', issueCrl(c.other!, { number: 9 }), 'root', 422, 'CRL_ISSUER_MISMATCH', /issued by 'CN=Another estate'/],
        ['a delta CRL', delta, 'root', 422, 'CRL_UNSUPPORTED', /delta CRLs are not supported/],
        ['a CRL from the future', issueCrl(c.root!, { number: 9, thisUpdate: new Date(Date.now() + 3600_000) }), 'root', 422, 'CRL_INVALID', /in the future/],
        ['an older CRL (lower number)', issueCrl(c.root!, { number: 0 }), 'root', 409, 'CRL_OUTDATED', /cRLNumber 0 is lower than the stored CRL's \(1\)/],
        ['a CRL for a pinned device certificate', issueCrl(c.inter!, { number: 1 }), 'leaf', 422, 'CERT_NOT_CA', /not a CA/],
        ['a private key', `${crlPem(issueCrl(c.root!, { number: 9 }))}${c.root!.keyPem}`, 'root', 422, 'CERT_PRIVATE_KEY_REJECTED', /private key/],
      ];
      for (const [what, crl, k, status, code, message] of cases) {
        const r = await upload(k, crl);
        assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, code, what);
        assert.match(r.body.error.message, message, what);
      }
      assert.deepEqual((await reg.call('GET', crlOf('root'), 'admin-a')).body, before, 'nothing stored');
      assert.deepEqual(await seqs(), s0, 'no event');
      assert.ok(!reg.logs.text().includes(c.root!.keyPem.split('\n')[1]!), 'the pasted key is not logged');
    });

    it('replaces the CRL by a newer one, by difference (added and removed serials audited)', async () => {
      const s0 = await seqs();
      const r = await upload('root', issueCrl(c.root!, { serials: [c.dev1!.cert.serial, 'def0'], number: 2 }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.crl.number, '2');
      const [change] = await reg.eventsAfter(Streams.Changes.name, s0.changes, 1);
      assert.equal(change!.data.data.revision, 2);
      const [audit] = await reg.eventsAfter(Streams.Audit.name, s0.audit, 1);
      assert.equal(audit!.data.before.number, '1');
      assert.equal(audit!.data.detail.added, 1);
      assert.equal(audit!.data.detail.removed, 1);
      const page = await serialsReply(ids.root!);
      assert.deepEqual(page, { revision: 2, crl: [normalizeSerial(c.dev1!.cert.serial), 'def0'].sort(), manual: [] });
    });

    it('revokes a device by issuer and serial number without its certificate, and restores it', async () => {
      const s0 = await seqs();
      const r = await reg.call('POST', serialsOf('root'), 'provisioner-a', { serial: 'AB:CD', reason: 'keyCompromise' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual({ ...r.body, revokedAt: 'x' }, { certificateId: ids.root, serial: 'abcd', reason: 'keyCompromise', revokedAt: 'x', revokedBy: 'pki-robot' });
      const again = await reg.call('POST', serialsOf('root'), 'admin-a', { serial: '00abcd' });
      assert.equal(again.status, 200, 'already revoked: no change');
      assert.deepEqual(again.body, r.body);
      assert.deepEqual((await reg.call('GET', serialsOf('root'), 'operator-a')).body, { items: [r.body], nextCursor: null });
      assert.equal((await reg.call('GET', crlOf('root'), 'admin-a')).body.revokedSerials, 1);
      const [change] = await reg.eventsAfter(Streams.Changes.name, s0.changes, 1);
      const { thisUpdate, nextUpdate } = (await reg.call('GET', crlOf('root'), 'admin-a')).body.crl;
      const crl = { thisUpdate, nextUpdate };
      assert.deepEqual(change!.data.data, { certificateId: ids.root, fingerprint: fps.root, revision: 3, change: 'serial_revoked', revocation: { revision: 3, serials: 3, crl } });
      const [audit] = await reg.eventsAfter(Streams.Audit.name, s0.audit, 1);
      assert.equal(audit!.subject, 'twoway.v1.audit.cert.serial_revoked');
      assert.equal(audit!.data.detail.serial, 'abcd');
      assert.equal(audit!.data.detail.reason, 'keyCompromise');
      assert.deepEqual(await serialsReply(ids.root!), { revision: 3, crl: [normalizeSerial(c.dev1!.cert.serial), 'def0'].sort(), manual: ['abcd'] });

      const refused: [string, string, unknown, string, number, string][] = [
        ['not hex', 'POST', { serial: 'zz' }, 'root', 400, 'VALIDATION_FAILED'],
        ['zero', 'POST', { serial: '00:00' }, 'root', 400, 'VALIDATION_FAILED'],
        ['an unknown reason', 'POST', { serial: '01', reason: 'bored' }, 'root', 400, 'VALIDATION_FAILED'],
        ['under a pinned device certificate', 'POST', { serial: '01' }, 'leaf', 422, 'CERT_NOT_CA'],
      ];
      for (const [what, method, body, k, status, code] of refused) {
        const x = await reg.call(method as 'POST', serialsOf(k), 'admin-a', body as object);
        assert.equal(x.status, status, `${what}: ${JSON.stringify(x.body)}`);
        assert.equal(x.body.error.code, code, what);
      }
      const operator = await reg.call('POST', serialsOf('root'), 'operator-a', { serial: '01' });
      assert.equal(operator.status, 403);

      const s1 = await seqs();
      assert.equal((await reg.call('DELETE', `${serialsOf('root')}/00ABCD`, 'admin-a')).status, 204);
      const gone = await reg.call('DELETE', `${serialsOf('root')}/abcd`, 'admin-a');
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, 'REVOKED_SERIAL_NOT_FOUND');
      const [restored] = await reg.eventsAfter(Streams.Changes.name, s1.changes, 1);
      assert.deepEqual(restored!.data.data, { certificateId: ids.root, fingerprint: fps.root, revision: 4, change: 'serial_restored', revocation: { revision: 4, serials: 2, crl } });
      const [restoredAudit] = await reg.eventsAfter(Streams.Audit.name, s1.audit, 1);
      assert.equal(restoredAudit!.subject, 'twoway.v1.audit.cert.serial_restored');
      assert.deepEqual((await serialsReply(ids.root!)).manual, []);
    });

    it('bounds revoked-serial entries per CA: REVOKED_SERIAL_LIMIT beyond TWOWAY_REVOKED_SERIALS_MAX', async () => {
      for (const s of ['11', '12', '13']) assert.equal((await reg.call('POST', serialsOf('inter'), 'admin-a', { serial: s })).status, 201);
      const full = await reg.call('POST', serialsOf('inter'), 'admin-a', { serial: '14' });
      assert.equal(full.status, 409);
      assert.equal(full.body.error.code, 'REVOKED_SERIAL_LIMIT');
      const page1 = await reg.call('GET', `${serialsOf('inter')}?limit=2`, 'admin-a');
      assert.deepEqual(page1.body.items.map((x: { serial: string }) => x.serial), ['11', '12']);
      const page2 = await reg.call('GET', `${serialsOf('inter')}?limit=2&cursor=${page1.body.nextCursor}`, 'admin-a');
      assert.deepEqual(page2.body, { items: [page2.body.items[0]], nextCursor: null });
      for (const s of ['11', '12', '13']) assert.equal((await reg.call('DELETE', `${serialsOf('inter')}/${s}`, 'admin-a')).status, 204);
    });

    it('gives brokers each CA\'s revocation summary in the trust set', async () => {
      const r = await reg.client.request(RequestSubjects.TrustSetGet, { accountIds: ['acct-a'] }, TrustSetReply);
      const byId = new Map(r.entries.map((e) => [e.id, e]));
      const root = byId.get(ids.root!)!;
      assert.equal(root.revocation?.revision, 4);
      assert.equal(root.revocation?.serials, 2);
      assert.match(root.revocation?.crl?.thisUpdate ?? '', /^\d{4}-/);
      assert.equal(byId.get(ids.leaf!)!.revocation, undefined);
      assert.equal(byId.get(ids.fetched!)!.revocation, undefined, 'its revocation data never changed: nothing to say');
    });

    it('pages 100,000 serials of an `openssl ca` CRL within NATS max_payload, each once', async () => {
      const serials = Array.from({ length: 100_000 }, (_, i) => (0x5000000000 + i * 7).toString(16));
      const der = await opensslCrl(c.inter!, serials, { number: 1 });
      let t0 = performance.now();
      const r = await upload('inter', der);
      const uploadMs = performance.now() - t0;
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
      assert.equal(r.body.crl.entries, 100_000);
      const maxPayload = reg.client.nc.info!.max_payload;
      const seen = new Set<string>();
      let pages = 0;
      let after: string | undefined;
      let revision: number | undefined;
      t0 = performance.now();
      do {
        const msg = await reg.client.nc.request(RequestSubjects.RevokedSerialsGet, new TextEncoder().encode(JSON.stringify({ certificateId: ids.inter, ...(after ? { after } : {}) })), { timeout: 5000 });
        assert.ok(msg.data.length <= maxPayload, `page ${pages} is ${msg.data.length} bytes`);
        const page = JSON.parse(new TextDecoder().decode(msg.data)) as RevokedSerialsReply;
        revision ??= page.revision;
        assert.equal(page.revision, revision);
        for (const s of page.crl) {
          assert.ok(!seen.has(s), `serial ${s} twice`);
          seen.add(s);
        }
        after = page.next;
        pages++;
      } while (after);
      const pagesMs = performance.now() - t0;
      assert.equal(seen.size, 100_000);
      for (const s of serials) assert.ok(seen.has(s));
      // The next day's CRL: one more revoked, one dropped (expired). Written by difference.
      const nextDer = await opensslCrl(c.inter!, [...serials.slice(1), 'fedcba'], { number: 2 });
      t0 = performance.now();
      const next = await upload('inter', nextDer);
      const replaceMs = performance.now() - t0;
      assert.equal(next.status, 200);
      console.log(`[${dialect}] 100,000-entry CRL (${der.length} bytes DER): upload ${uploadMs.toFixed(0)} ms; ${pages} pages of at most ${maxPayload} bytes read in ${pagesMs.toFixed(0)} ms; the next CRL (1 added, 1 removed) stored in ${replaceMs.toFixed(0)} ms`);
    });

    it('refuses a CRL larger than TWOWAY_CRL_MAX_BYTES allows in a body: 413 PAYLOAD_TOO_LARGE', async () => {
      const r = await reg.call('PUT', crlOf('root'), 'admin-a', { crl: 'A'.repeat(Math.ceil(MAX_CRL_BYTES * 1.4) + 128 * 1024) });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'PAYLOAD_TOO_LARGE');
    });

    it('keeps tenants apart: B can neither read nor change A\'s CA revocation data', async () => {
      const before = (await reg.call('GET', crlOf('root'), 'admin-a')).body;
      const s0 = await seqs();
      const foreign: [string, string, object | undefined][] = [
        ['GET', crlOf('root'), undefined],
        ['PUT', crlOf('root'), { crl: crlPem(issueCrl(c.root!, { number: 50 })) }],
        ['DELETE', crlOf('root'), undefined],
        ['PUT', `${crlOf('root')}/distribution-point`, { url: dp.url('/ca.crl') }],
        ['POST', `${crlOf('root')}/fetch`, undefined],
        ['GET', serialsOf('root'), undefined],
        ['POST', serialsOf('root'), { serial: '77' }],
        ['DELETE', `${serialsOf('root')}/def0`, undefined],
      ];
      for (const [method, path, body] of foreign) {
        const r = await reg.call(method as 'GET', path, 'admin-b', body);
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.body.error.code, 'ACCOUNT_NOT_FOUND', `${method} ${path}`);
        // Under B's own account, A's certificate id is unknown.
        const own = await reg.call(method as 'GET', path.replace('/accounts/acct-a/', '/accounts/acct-b/'), 'admin-b', body);
        assert.equal(own.status, 404, `${method} ${path} under acct-b`);
        assert.equal(own.body.error.code, 'CERT_NOT_FOUND', `${method} ${path} under acct-b`);
      }
      assert.deepEqual((await reg.call('GET', crlOf('root'), 'admin-a')).body, before);
      assert.deepEqual(await seqs(), s0);
    });

    it('lets only admins set a distribution point, http or https without credentials', async () => {
      const path = `${crlOf('fetched')}/distribution-point`;
      assert.equal((await reg.call('PUT', path, 'provisioner-a', { url: dp.url('/ca.crl') })).status, 403);
      for (const url of ['ftp://127.0.0.1/ca.crl', 'file:///etc/passwd', 'http://user:secret@127.0.0.1/ca.crl']) {
        const r = await reg.call('PUT', path, 'admin-a', { url });
        assert.equal(r.status, 400, url);
        assert.equal(r.body.error.code, 'VALIDATION_FAILED', url);
      }
      const leaf = await reg.call('PUT', `${crlOf('leaf')}/distribution-point`, 'admin-a', { url: dp.url('/ca.crl') });
      assert.equal(leaf.body.error.code, 'CERT_NOT_CA');
      const none = await reg.call('POST', `${crlOf('fetched')}/fetch`, 'admin-a');
      assert.equal(none.status, 400, 'no distribution point to fetch from');
    });

    it('fetches a CA\'s CRL from its distribution point at once, then every interval (a newer one is picked up)', async () => {
      dp.serve.set('/ca.crl', issueCrl(c.fetched!, { serials: ['aa01'], number: 1 }));
      const s0 = await seqs();
      const set = await reg.call('PUT', `${crlOf('fetched')}/distribution-point`, 'admin-a', { url: dp.url('/ca.crl') });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.equal(set.body.distributionPoint.url, dp.url('/ca.crl'));
      const first = await waitFor(async () => {
        const r = (await reg.call('GET', crlOf('fetched'), 'admin-a')).body as Revocation;
        return r.crl?.number === '1' ? r : undefined;
      }, { what: 'the first fetch' });
      assert.equal(first.crl!.source, 'fetch');
      assert.equal(first.distributionPoint!.failures, 0);
      assert.ok(first.distributionPoint!.lastSuccessAt);
      const audit = await reg.eventsAfter(Streams.Audit.name, s0.audit, 2);
      assert.deepEqual(audit.map((e) => e.subject), ['twoway.v1.audit.cert.crl_distribution_point_changed', 'twoway.v1.audit.cert.crl_updated']);
      assert.deepEqual([audit[0]!.data.before, audit[0]!.data.after], [null, dp.url('/ca.crl')]);
      assert.deepEqual(audit[1]!.data.actor, { kind: 'system', id: 'crl-fetch', name: 'cert-registry CRL fetch' });
      assert.deepEqual(audit[1]!.data.accountPath, ['acct-a', 'root'], 'the ancestry recorded with the distribution point');
      assert.equal(audit[1]!.data.detail.source, 'fetch');
      assert.equal(audit[1]!.data.detail.url, dp.url('/ca.crl'));

      dp.serve.set('/ca.crl', issueCrl(c.fetched!, { serials: ['aa01', 'aa02'], number: 2 }));
      const second = await waitFor(async () => {
        const r = (await reg.call('GET', crlOf('fetched'), 'admin-a')).body as Revocation;
        return r.crl?.number === '2' ? r : undefined;
      }, { what: 'the scheduled fetch of the newer CRL' });
      assert.equal(second.crl!.entries, 2);
      assert.ok((dp.hits.get('/ca.crl') ?? 0) >= 2);
    });

    it('follows a redirect to http; a redirect to another scheme, an HTTP error, a too large or too slow answer and a foreign CRL fail, recorded and audited', async () => {
      const path = `${crlOf('fetched')}/distribution-point`;
      dp.serve.set('/ca.crl', issueCrl(c.fetched!, { serials: ['aa01', 'aa02', 'aa03'], number: 3 }));
      assert.equal((await reg.call('PUT', path, 'admin-a', { url: dp.url('/redirect') })).status, 200);
      const now = await reg.call('POST', `${crlOf('fetched')}/fetch`, 'admin-a');
      assert.equal(now.status, 200, JSON.stringify(now.body));
      assert.equal(now.body.crl.number, '3');

      dp.serve.set('/foreign.crl', issueCrl(c.fetched!, { number: 4, signedBy: c.other }));
      const failures: [string, number, string, RegExp][] = [
        ['/to-ftp', 502, 'CRL_FETCH_FAILED', /redirected to a ftp URL; only http and https are followed/],
        ['/missing', 502, 'CRL_FETCH_FAILED', /HTTP 404/],
        ['/big', 502, 'CRL_FETCH_FAILED', /larger than TWOWAY_CRL_MAX_BYTES/],
        ['/slow', 502, 'CRL_FETCH_FAILED', new RegExp(`within ${FETCH_TIMEOUT_MS} ms`)],
        ['/foreign.crl', 422, 'CRL_SIGNATURE_INVALID', /signed by another key/],
      ];
      for (const [p, status, code, message] of failures) {
        assert.equal((await reg.call('PUT', path, 'admin-a', { url: dp.url(p) })).status, 200);
        const s0 = await seqs();
        const r = await reg.call('POST', `${crlOf('fetched')}/fetch`, 'admin-a');
        assert.equal(r.status, status, `${p}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, code, p);
        assert.match(r.body.error.message, message, p);
        const st = (await reg.call('GET', crlOf('fetched'), 'admin-a')).body as Revocation;
        assert.ok(st.distributionPoint!.failures >= 1, p);
        assert.match(st.distributionPoint!.lastError ?? '', new RegExp(`^${code}: `), p);
        assert.equal(st.crl!.number, '3', `${p}: the CRL stored before stays`);
        const audit = await waitFor(async () => (await reg.eventsAfter(Streams.Audit.name, s0.audit, 1)).find((e) => e.subject === 'twoway.v1.audit.cert.crl_fetch_failed'), { what: `fetch failure audit for ${p}` });
        assert.equal(audit.data.detail.url, dp.url(p));
        assert.equal(audit.data.detail.code, code);
      }
      // Failures are retried on the schedule (bounded by the 1 s interval here), counted up.
      const counted = await waitFor(async () => {
        const st = (await reg.call('GET', crlOf('fetched'), 'admin-a')).body as Revocation;
        return st.distributionPoint!.failures >= 3 ? st : undefined;
      }, { what: 'scheduled retries' });
      assert.ok(new Date(counted.distributionPoint!.nextFetchAt!).getTime() > new Date(counted.distributionPoint!.lastAttemptAt!).getTime());
      const cleared = await reg.call('PUT', path, 'admin-a', { url: null });
      assert.equal(cleared.body.distributionPoint, null);
    });

    it('describes every new route in the OpenAPI document as every route is: operationId, summary, description, tag and its errors', async () => {
      type Op = { operationId?: string; summary?: string; description?: string; tags?: string[]; responses: Record<string, { content?: { 'application/json'?: { examples?: Record<string, unknown> } } }> };
      const doc = (await reg.svc.http.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Op>> };
      const base = '/api/v1/accounts/{id}/certificates/{certId}';
      const routes: [string, string][] = [
        [`${base}/crl`, 'get'], [`${base}/crl`, 'put'], [`${base}/crl`, 'delete'], [`${base}/crl/distribution-point`, 'put'], [`${base}/crl/fetch`, 'post'],
        [`${base}/revoked-serials`, 'get'], [`${base}/revoked-serials`, 'post'], [`${base}/revoked-serials/{serial}`, 'delete'],
      ];
      for (const [path, method] of routes) {
        const op = doc.paths[path]?.[method];
        assert.ok(op?.operationId && op.summary && op.description, `${method.toUpperCase()} ${path}`);
        assert.deepEqual(op.tags, ['Revocation'], `${method.toUpperCase()} ${path}`);
        const notFound = Object.keys(op.responses['404']?.content?.['application/json']?.examples ?? {});
        assert.deepEqual([!!op.responses['401'], notFound.includes('CERT_NOT_FOUND')], [true, true], `${method.toUpperCase()} ${path}`);
      }
      const upload = doc.paths[`${base}/crl`]!.put!;
      assert.ok(['CRL_SIGNATURE_INVALID', 'CRL_ISSUER_MISMATCH', 'CERT_PRIVATE_KEY_REJECTED'].every((c) => c in (upload.responses['422']?.content?.['application/json']?.examples ?? {})), 'an upload documents its refusals');
    });

    it('deletes a CA\'s CRL and revoked serials with the CA', async () => {
      assert.equal((await reg.call('DELETE', crlOf('fetched'), 'admin-a')).status, 204);
      const again = await reg.call('DELETE', crlOf('fetched'), 'admin-a');
      assert.equal(again.body.error.code, 'CRL_NOT_FOUND');
      assert.equal((await reg.call('DELETE', `/api/v1/accounts/acct-a/certificates/${ids.inter}`, 'admin-a')).status, 204);
      assert.equal(await reg.svc.ds.getRepository(RevokedSerialEntity).countBy({ certificateId: ids.inter! }), 0);
      assert.equal(await reg.svc.ds.getRepository(RevocationStateEntity).countBy({ certificateId: ids.inter! }), 0);
      assert.deepEqual(await serialsReply(ids.inter!), { revision: 0, crl: [], manual: [] });
    });
  });
}
