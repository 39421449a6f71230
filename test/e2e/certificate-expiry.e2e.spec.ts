// Certificate expiry end to end: `twoway up` starts every process; an operator registers a root that
// ends in 12 days; cert-registry's scan audits it once, the audit service stores it; a real device
// whose leaf ends in 8 days connects over mutual TLS (the `mqtt` package) and its broker audits and
// counts it; the REST filter and `twoway certs ls --expiring` list what to renew.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY_MS } from '@twoway/contracts';
import { createRootCa, type Issued } from '@twoway/pki';
import { System, freePort, makeTestPki, runToEnd, waitFor } from '@twoway/testing';
import { Operator, type AuditItem } from './support/operator.js';
import { tryConnect } from './support/mqtt.js';

const bin = resolve(fileURLToPath(new URL('../../apps/cli/bin/twoway.mjs', import.meta.url)));
const PASSWORD = 'correct horse battery staple';

describe('certificate expiry end to end', { timeout: 240_000 }, () => {
  let sys: System;
  let op: Operator;
  let registryUrl: string;
  let accountId: string;
  let oldRoot: Issued;
  let oldRootId: string;
  let device: Issued;

  before(async () => {
    const registryPort = await freePort();
    registryUrl = `http://127.0.0.1:${registryPort}`;
    // A scan every second, so the test waits for scans instead of for a quarter of an hour.
    sys = await System.start({ env: { TWOWAY_CERT_REGISTRY_HTTP_PORT: String(registryPort), TWOWAY_EXPIRY_SCAN_INTERVAL_MS: '1000', TWOWAY_EXPIRY_WARNING_DAYS: '30' } });
    op = new Operator(sys);
    accountId = await op.account('expiry-fleet');
    await op.credential(accountId, 'sensor-soon', PASSWORD);
    const pki = await makeTestPki({ fresh: true });
    await op.register(accountId, 'Fleet root', pki.root.certPem);
    oldRoot = await createRootCa({ commonName: 'Old fleet root', days: 12 });
    oldRootId = (await op.register(accountId, 'Old fleet root', oldRoot.certPem)).id;
    device = await pki.device('sensor-soon', { notAfter: new Date(Date.now() + 8.5 * DAY_MS) });
  });
  after(async () => {
    await sys?.stop();
  });

  const stored = (type: string, extra: Record<string, string> = {}) => op.audit(accountId, { type, ...extra });
  const sample = async (url: string, series: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
  };
  const okScans = () => sample(registryUrl, 'twoway_cert_registry_expiry_scans_total{outcome="ok"}');

  it('audits the registered root once as it is within the window, and counts it for its account', async () => {
    const [ev] = await waitFor(async () => {
      const items = await stored('cert.expiring');
      return items.length ? items : undefined;
    }, { timeoutMs: 30_000, everyMs: 250, what: 'cert.expiring in the audit store' });
    assert.equal(ev!.certificateId, oldRootId);
    assert.deepEqual(ev!.actor, { kind: 'system', id: 'cert-registry' });
    assert.deepEqual({ ...(ev!.detail as object), notAfter: undefined }, { name: 'Old fleet root', fingerprint: oldRoot.cert.fingerprint, subject: oldRoot.cert.subject, kind: 'root', status: 'VALID', notAfter: undefined, daysLeft: 11, windowDays: 30 });
    // Two more scans: still one event (checked again below, once later events are stored behind them).
    const scans = await okScans();
    await waitFor(async () => (await okScans()) >= scans + 2 || undefined, { timeoutMs: 30_000, everyMs: 250, what: 'two more expiry scans' });
    assert.equal(await sample(registryUrl, `twoway_cert_registry_certificates_expiring{account="${accountId}"}`), 1);
  });

  it('audits and counts a device whose leaf expires within the window, connected over mutual TLS', async () => {
    const ca = await readFile(sys.caFile, 'utf8');
    const clientId = 'sensor-soon';
    const r = await tryConnect(sys.mqttPort, { ca, cert: device.chainPem, key: device.keyPem }, { clientId, username: 'sensor-soon', password: PASSWORD });
    r.client?.end(true);
    assert.equal(r.connected, true, r.error);
    const [ev] = await waitFor(async () => {
      const items = await stored('device.cert_expiring', { clientId });
      return items.length ? items : undefined;
    }, { timeoutMs: 30_000, everyMs: 250, what: 'device.cert_expiring in the audit store' });
    const certs = (ev as AuditItem & { detail: { certificates: { role: string; fingerprint: string; daysLeft: number }[] } }).detail.certificates;
    assert.deepEqual(certs.map((c) => [c.role, c.fingerprint, c.daysLeft]), [['leaf', device.cert.fingerprint, 8]]);
    assert.equal(ev!.device?.certificateFingerprint, device.cert.fingerprint);
    assert.equal(await sample(sys.brokerHttpUrl, 'twoway_broker_expiring_cert_connects_total'), 1);
    // Stored in stream order: the scans before this connect wrote nothing more.
    assert.equal((await stored('cert.expiring')).length, 1);
  });

  it('lists what to renew through the gateway and with `twoway certs ls --expiring`', async () => {
    const r = await sys.api<{ items: { name: string; expiry: string }[] }>('GET', `/api/v1/accounts/${accountId}/certificates?expiresWithinDays=30`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.items.map((c) => [c.name, c.expiry]), [['Old fleet root', 'expiring']]);
    const cli = await runToEnd(process.execPath, [bin, 'certs', 'ls', '--expiring', '30', '--account', accountId], {
      env: { ...process.env, NODE_TEST_CONTEXT: '', TWOWAY_URL: sys.apiUrl, TWOWAY_TOKEN: sys.token },
    });
    assert.equal(cli.code, 0, cli.stderr);
    const rows = cli.stdout.trim().split('\n');
    assert.equal(rows.length, 2, cli.stdout);
    assert.match(rows[1]!, /Old fleet root\s+root\s+VALID\s+\S+ \S+ \(expiring\)\s+CN=Old fleet root/);
  });

  it('keeps the per-account gauges off the public origin: the gateway does not forward /metrics', async () => {
    const r = await fetch(`${sys.apiUrl}/metrics`);
    assert.doesNotMatch(await r.text(), /twoway_cert_registry_/);
  });
});
