// The admin console in a real browser (Debian's chromium through playwright-core) against an in-memory
// fake of the REST API: sign in, add a certificate (after a private key is refused without being sent),
// suspend it with confirmation, and watch the audit live tail. Screenshots go to test-results/console/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { makeTestPki, tempDir, waitFor, type TestPki } from '@twoway/testing';
import { readFile } from 'node:fs/promises';
import { launch, layoutProblems, needsChromium, signIn } from './browser.js';
import { FakeApi } from './fake-api.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const consoleDir = `${repo}apps/console/dist`;
const shots = `${repo}test-results/console`;

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });

describe('admin console', { skip: needsChromium }, () => {
  let api: FakeApi;
  let context: BrowserContext;
  let page: Page;
  let serverPki: TestPki;
  const errors: string[] = [];

  let profile: Awaited<ReturnType<typeof tempDir>> | undefined;

  before(async () => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    serverPki = await makeTestPki();
    api = await FakeApi.start({ consoleDir, whoami: true, serverCaPem: serverPki.root.certPem });
    profile = await tempDir('twoway-chromium-');
    context = await launch(profile.path, { width: 1280, height: 800 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
  });
  // In reverse order of start: the browser first (it writes to its profile until it exits).
  after(async () => {
    await context?.close();
    await api?.stop();
    await profile?.[Symbol.asyncDispose]();
  });

  it('signs in with a token and lands on the one sub-account of an empty home, then goes back to an empty Certificates view', async () => {
    await page.goto(api.url);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await page.getByLabel('API token').fill(api.adminToken);
    await shot(page, '01-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Acme IoT has no certificate or credential of its own and one sub-account: that is where the work is.
    await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Opened “Factory Berlin”, the one account below Acme IoT' }).waitFor();
    assert.equal(await page.locator('.account-name').textContent(), 'Factory Berlin');
    assert.match(page.url(), /#\/certificates\?account=acc_factory$/);
    await page.getByRole('button', { name: 'Back to Acme IoT' }).click();
    await page.locator('.account-name', { hasText: 'Acme IoT' }).waitFor();
    await page.getByText('No certificates yet').waitFor();
    assert.equal(await page.locator('.who-name').textContent(), 'bootstrap');
    await shot(page, '02-certificates-empty');
  });

  it('refuses a private key in the Add dialog without sending it', async () => {
    const pki = await makeTestPki();
    await page.getByRole('button', { name: 'Add certificate' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add certificate' });
    await dialog.getByLabel('Name').fill('Factory line 2 intermediate');
    assert.equal(await dialog.getByLabel('Usage').inputValue(), 'MUTUAL_AUTHENTICATION');
    await dialog.getByLabel('Public certificate').fill(pki.intermediate.keyPem);
    await dialog.getByRole('button', { name: 'Add certificate' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'private key' }).waitFor();
    assert.equal(await dialog.getByLabel('Public certificate').inputValue(), '', 'the key is cleared from the form');
    assert.equal(api.requests.filter((r) => r.method === 'POST' && r.url.includes('/certificates')).length, 0, 'nothing was sent');
    assert.ok(api.requests.every((r) => !JSON.stringify(r.body ?? '').includes('PRIVATE KEY')), 'no request carried the key');
    await shot(page, '03-add-private-key-refused');

    // A chain file is offered as a split upload: each certificate shown with its subject, issuer and kind.
    await dialog.getByLabel('Public certificate').fill(pki.intermediate.certPem + pki.root.certPem);
    await dialog.getByText('✓ A chain file: 2 certificates, each added as its own entry.').waitFor();
    const entries = dialog.locator('.chain-preview tbody tr');
    assert.deepEqual(await entries.evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent))), [
      ['1', `Factory line 2 intermediate #1 (intermediate)${pki.intermediate.cert.subject}`, pki.intermediate.cert.issuer, 'Intermediate CA'],
      ['2', `Factory line 2 intermediate #2 (root)${pki.root.cert.subject}`, pki.root.cert.issuer, 'Root CA'],
    ]);
    await dialog.getByRole('button', { name: 'Add 2 certificates' }).waitFor();
    await shot(page, '03b-add-chain-preview');
    assert.equal(api.requests.filter((r) => r.method === 'POST' && r.url.includes('/certificates')).length, 0, 'nothing sent before Add');
  });

  it('adds the intermediate CA and shows it as Valid', async () => {
    const pki = await makeTestPki();
    const dialog = page.getByRole('dialog', { name: 'Add certificate' });
    await dialog.getByLabel('Public certificate').fill(pki.intermediate.certPem);
    await dialog.getByText('One PEM certificate, ready to add.').waitFor();
    await shot(page, '04-add-dialog');
    await dialog.getByRole('button', { name: 'Add certificate' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.locator('tr', { hasText: 'Factory line 2 intermediate' });
    await row.getByText('Valid').waitFor();
    await row.getByText('Intermediate CA').waitFor();
    assert.equal(api.certificates.length, 1);
    assert.equal(api.certificates[0]!.fingerprint, pki.intermediate.cert.fingerprint);
    await page.getByRole('status').filter({ hasText: 'Added “Factory line 2 intermediate”' }).waitFor();
    await shot(page, '05-certificates-list');
  });

  it('suspends it after a confirmation that says what it affects', async () => {
    // What the brokers count for it: the confirmation says it before anything changes.
    // One of the three devices has a credential that does not require a certificate, in an account with plain TLS on.
    api.liveSessions.set(api.certificates[0]!.id, { sessions: 3, accounts: [{ accountId: 'acc_root', sessions: 2 }, { accountId: 'acc_factory', sessions: 1 }], accountsTruncated: false, replicas: 2, replicasWithSessions: 2, couldFallBack: 1 });
    await page.getByRole('button', { name: 'Edit Factory line 2 intermediate' }).click();
    const edit = page.getByRole('dialog', { name: 'Factory line 2 intermediate' });
    await edit.getByLabel(/Suspended/).check();
    await shot(page, '06-edit-dialog');
    await edit.getByRole('button', { name: 'Save' }).click();
    const confirm = page.getByRole('dialog', { name: 'Suspend certificate?' });
    await confirm.getByText(/every device whose certificate was issued below this intermediate CA, in Acme IoT and all its sub-accounts/).waitFor();
    await confirm.getByText('3 live sessions on 2 brokers will end, in 2 accounts: Acme IoT (2), Factory Berlin (1) (2 broker replicas answered).', { exact: false }).waitFor();
    await confirm
      .locator('.fallback-risk')
      .getByText('1 of these devices could reconnect with their password alone, because their credentials do not require a certificate and plain TLS is on in their accounts', { exact: false })
      .waitFor();
    await shot(page, '07-confirm-suspend');
    await confirm.getByRole('button', { name: 'Suspend certificate' }).click();
    await page.locator('tr', { hasText: 'Factory line 2 intermediate' }).getByText('Suspended').waitFor();
    const patch = api.requests.find((r) => r.method === 'PATCH');
    assert.deepEqual(patch?.body, { status: 'SUSPENDED' });
    assert.equal(api.certificates[0]!.status, 'SUSPENDED');
    await shot(page, '08-certificate-suspended');
  });

  it('shows why a device dropped in the audit live tail, and holds events while paused', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    await page.locator('tr[data-audit-type="cert.status_changed"]').first().waitFor();
    await page.locator('.live-text', { hasText: 'Live' }).waitFor();
    await waitFor(() => api.liveTails > 0, { what: 'the live tail to connect' });
    // What the broker reports when the suspension ends a device's session.
    api.emitAudit({ type: 'session.ended', outcome: 'ended', reason: 'ANCHOR_SUSPENDED', device: { clientId: 'sensor-42', username: 'sensor-42' }, certificateId: api.certificates[0]!.id, source: 'broker-0' });
    const live = page.locator('tr.row-new', { hasText: 'sensor-42' });
    await live.getByText('ANCHOR_SUSPENDED').waitFor();
    await live.getByText('Session ended').waitFor();
    await shot(page, '09-audit-live-tail');
    await live.getByRole('button', { name: /^Details of Session ended/ }).click();
    const details = page.getByRole('dialog', { name: 'Session ended' });
    await details.getByText('broker-0').waitFor();
    await shot(page, '09b-audit-details');
    await details.getByRole('button', { name: 'Close' }).first().click();
    await details.waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Pause' }).click();
    api.emitAudit({ type: 'connect.rejected', outcome: 'rejected', reason: 'ANCHOR_SUSPENDED', device: { clientId: 'sensor-43' }, source: 'broker-1' });
    await page.getByText('1 new event waiting').waitFor();
    assert.equal(await page.locator('tr', { hasText: 'sensor-43' }).count(), 0, 'held while paused');
    await shot(page, '10-audit-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('tr', { hasText: 'sensor-43' }).getByText('Rejected', { exact: true }).waitFor();

    // A status change says which certificate and from/to which status; times carry seconds and a zone.
    const statusRow = page.locator('tr[data-audit-type="cert.status_changed"]').first();
    await statusRow.getByText('“Factory line 2 intermediate”: VALID → SUSPENDED').waitFor();
    assert.match((await statusRow.locator('time').textContent()) ?? '', /\d{2}:\d{2}:\d{2}.*(UTC|GMT|[A-Z]{2,5}|[+-]\d)/);
    // The why is explained, and a refused fallback names the CA that blocks it.
    const cert = api.certificates[0]!;
    api.emitAudit({ type: 'connect.rejected', outcome: 'rejected', reason: 'ANCHOR_SUSPENDED', device: { clientId: 'sensor-17', username: 'sensor-17' }, accountPath: [api.rootAccount.id], detail: { certificate: 'none', fallbackRefused: true, blockedFingerprint: cert.fingerprint }, source: 'broker-0' });
    const refused = page.locator('tr', { hasText: 'sensor-17' });
    await refused.getByText(/CA the device’s certificate chains to is suspended\. The device came without a trusted certificate/).waitFor();
    await refused.getByRole('button', { name: /^Details of Connect rejected/ }).click();
    const why = page.getByRole('dialog', { name: 'Connect rejected' });
    await why.getByText(/“Factory line 2 intermediate” \(intermediate, SUSPENDED\)/).waitFor();
    await shot(page, '09c-audit-why');
    await why.getByRole('button', { name: 'Close' }).first().click();

    // Search by device: the API is asked for that client id, and only its events are listed.
    await page.getByLabel('Device', { exact: true }).fill('sensor-17');
    await waitFor(() => api.requests.some((r) => r.url.includes('clientId=sensor-17')), { what: 'a clientId query' });
    await waitFor(async () => (await page.locator('tbody tr').count()) === 1 || undefined, { what: 'only sensor-17 listed' });
    await page.getByLabel('Search devices by').selectOption('username');
    await waitFor(() => api.requests.some((r) => r.url.includes('username=sensor-17')), { what: 'a username query' });
    await page.getByLabel('Device', { exact: true }).fill('');
    await waitFor(async () => (await page.locator('tbody tr').count()) > 1 || undefined, { what: 'every event again' });
    // Sub-accounts are included by default, and can be left out.
    assert.ok(api.requests.some((r) => r.url.includes('/audit?') && r.url.includes('subtree=true')), 'the audit is asked with subtree=true');
    api.emitAudit({ type: 'connect.rejected', outcome: 'rejected', reason: 'BAD_CREDENTIALS', account: 'acc_factory', accountPath: ['acc_factory', api.rootAccount.id], device: { clientId: 'berlin-7' }, source: 'broker-0' });
    await page.locator('tr', { hasText: 'berlin-7' }).waitFor();
    await page.getByLabel('Include sub-accounts').uncheck();
    await page.locator('tr', { hasText: 'berlin-7' }).waitFor({ state: 'detached' });
    await page.getByLabel('Include sub-accounts').check();
    await page.locator('tr', { hasText: 'berlin-7' }).waitFor();

    // The export is fetched with the bearer token and handed to the browser as a file.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^twoway-audit-acc_root-.*\.csv$/);
    const exported = api.requests.find((r) => r.url.includes('format=csv'));
    assert.ok(exported, 'the CSV export was requested');
  });

  it('shows settings with mutual TLS availability as provider-controlled', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('switch', { name: /Mutual TLS available/ }).waitFor();
    assert.equal(await page.getByRole('switch', { name: /^Mutual TLS$/ }).isDisabled(), true, 'mutual TLS cannot be on before it is available');
    const mtlsHint = async () => page.locator(`#${await page.getByRole('switch', { name: /^Mutual TLS$/ }).getAttribute('aria-describedby')}`).textContent();
    assert.match((await mtlsHint()) ?? '', /available” on first/);
    await page.getByRole('switch', { name: /Mutual TLS available/ }).check();
    // The hint follows the switch: no stale "needs the provider" once it is available.
    assert.match((await mtlsHint()) ?? '', /^Devices present a client certificate/);
    await page.getByRole('switch', { name: /^Mutual TLS$/ }).check();
    await page.getByText(/try mutual TLS first and fall back/).waitFor();
    await page.getByText(/Not bound: any device with a trusted certificate/).waitFor();
    // Save stays in view at 1280×800 (a sticky bar), saying there are unsaved changes.
    const save = page.getByRole('button', { name: 'Save changes' });
    const box = await save.boundingBox();
    assert.ok(box && box.y + box.height <= 800, `Save is in view (${JSON.stringify(box)})`);
    await page.getByText('Unsaved changes').waitFor();
    // Leaving with unsaved changes asks first; staying keeps them.
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    assert.equal(await page.getByRole('switch', { name: /^Mutual TLS$/ }).isChecked(), true, 'the change is kept');
    assert.match(page.url(), /#\/settings\?account=/);
    await shot(page, '11a-settings-unsaved');
    await save.click();
    await page.getByRole('status').filter({ hasText: 'Settings saved' }).waitFor();
    assert.deepEqual(api.requests.find((r) => r.method === 'PUT')?.body, { mutualTls: { available: true, enabled: true } });
    await shot(page, '11-settings');
  });

  it('edits topic permissions: rules in order, each filter checked as it is typed, saved whole', async () => {
    await page.getByRole('link', { name: 'Topic permissions' }).click();
    await page.getByRole('heading', { level: 1, name: 'Topic permissions' }).waitFor();
    await page.getByText('No rules').waitFor();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule 0: topic filter').fill('devices/${clientId}/#');
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule 1: effect').selectOption('deny');
    await page.getByLabel('Rule 1: topic filter').fill('devices/#/admin');
    await page.getByText("'#' must be the last level.").waitFor();
    const save = page.getByRole('button', { name: 'Save rules' });
    assert.equal(await save.isDisabled(), true, 'a filter that is not an MQTT filter cannot be saved');
    await page.getByLabel('Rule 1: topic filter').fill('devices/${clientId}/admin/#');
    // The exception goes above the rule it carves out of: the first match wins.
    await page.getByRole('button', { name: 'Move rule 1 up' }).click();
    assert.equal(await page.getByLabel('Rule 0: effect').inputValue(), 'deny');
    await page.getByText('Unsaved changes').waitFor();
    await shot(page, '11b-topic-permissions-unsaved');
    await save.click();
    await page.getByRole('status').filter({ hasText: 'Topic permissions saved' }).waitFor();
    const put = api.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/topic-rules')).at(-1);
    assert.deepEqual(put?.body, {
      rules: [
        { effect: 'deny', action: 'both', filter: 'devices/${clientId}/admin/#' },
        { effect: 'allow', action: 'both', filter: 'devices/${clientId}/#' },
      ],
    });
    assert.equal(await save.isDisabled(), true, 'nothing left to save');
    await shot(page, '11c-topic-permissions');
  });

  it('creates a token and shows its secret once', async () => {
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('button', { name: 'Create token' }).click();
    const d = page.getByRole('dialog', { name: 'Create API token' });
    await d.getByLabel('Name').fill('Factory PKI');
    await d.getByLabel('Role').selectOption('provisioner');
    await d.getByRole('button', { name: 'Create token' }).click();
    const secret = await d.getByLabel('Token').inputValue();
    assert.equal(secret, api.tokens.at(-1)!.secret);
    await shot(page, '12-token-created');
    await d.getByRole('button', { name: 'Done' }).click();
    await page.locator('tr', { hasText: 'Factory PKI' }).getByText('Active').waitFor();
    assert.equal(await page.getByText(secret).count(), 0, 'the secret is gone once the dialog closes');
  });

  it('lists credentials and the account tree', async () => {
    await page.getByRole('link', { name: 'Credentials' }).click();
    await page.getByRole('button', { name: 'Add credential' }).first().click();
    const d = page.getByRole('dialog', { name: 'Add credential' });
    await d.getByLabel('Username').fill('sensor-42');
    await d.getByRole('button', { name: 'Generate' }).click();
    const generated = await d.getByLabel('Password', { exact: true }).inputValue();
    assert.match(generated, /^[A-Za-z0-9][A-Za-z0-9_-]{23}$/, 'no shell-hostile characters');
    await d.getByRole('button', { name: 'Add credential' }).click();
    // The one moment to copy it, with a command that shows how the device connects.
    const copyNow = page.getByRole('dialog', { name: 'Copy the password now' });
    assert.equal(await copyNow.getByLabel('Password').inputValue(), generated);
    await copyNow.getByText(/mosquitto_pub -h 127\.0\.0\.1 -p 8883 --cafile twoway-server-ca\.pem --cert device-chain\.pem --key device\.key -i sensor-42 -u sensor-42 -P "\$MQTT_PASSWORD"/).waitFor();
    await shot(page, '12b-credential-copy-now');
    await copyNow.getByRole('button', { name: 'I have copied it' }).click();
    await copyNow.waitFor({ state: 'detached' });
    await page.locator('tr', { hasText: 'sensor-42' }).getByText('Enabled').waitFor();
    // Mutual TLS is on (since Settings), so the new credential requires a certificate unless told otherwise.
    assert.equal((api.requests.find((r) => r.method === 'POST' && r.url.endsWith('/credentials'))?.body as { requireCertificate?: boolean }).requireCertificate, true);
    await page.locator('tr', { hasText: 'sensor-42' }).getByText('Certificate required').waitFor();
    // Which certificate may use it: the account binds none, and says so (mutual TLS is on since Settings).
    await page.locator('tr', { hasText: 'sensor-42' }).getByText('Identity: Not bound').waitFor();
    await page.getByText(/Identity binding: not bound\. A device with any certificate this account trusts/).waitFor();
    await shot(page, '13-credentials');
    // Allowing the password alone is confirmed with what it means, then the row says so.
    await page.getByRole('button', { name: 'Allow password alone for sensor-42' }).click();
    const allow = page.getByRole('dialog', { name: 'Allow the password alone?' });
    await allow.getByText(/also after the CA of their certificate is suspended or revoked/).waitFor();
    await allow.getByRole('button', { name: 'Allow password' }).click();
    await page.locator('tr', { hasText: 'sensor-42' }).getByText('Password alone allowed').waitFor();
    assert.deepEqual(api.requests.find((r) => r.method === 'PATCH' && r.url.includes('/credentials/'))?.body, { requireCertificate: false });
    assert.equal(api.credentials[0]!.requireCertificate, false);
    await page.getByRole('button', { name: 'Disable sensor-42' }).click();
    await page.getByRole('dialog', { name: 'Disable credential?' }).getByRole('button', { name: 'Disable' }).click();
    await page.locator('tr', { hasText: 'sensor-42' }).getByText('Disabled').waitFor();
    assert.equal(api.credentials[0]!.enabled, false);

    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByText('Factory Berlin').waitFor();
    await shot(page, '14-accounts');

    // Managing a sub-account switches every view to it; the sidebar leads back.
    await page.locator('[data-account-id="acc_factory"]').getByRole('button', { name: 'Manage' }).click();
    await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
    assert.equal(await page.locator('.account-name').textContent(), 'Factory Berlin');
    await page.getByText('No certificates yet').waitFor();
    // The URL names the account: a reload (or a shared link) opens the same account and page.
    assert.match(page.url(), /#\/certificates\?account=acc_factory$/);
    await page.goto(`${api.url}/#/audit?account=acc_factory`);
    await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    assert.equal(await page.locator('.account-name').textContent(), 'Factory Berlin');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    assert.equal(await page.locator('.account-name').textContent(), 'Factory Berlin');
    await page.getByRole('button', { name: 'Back to Acme IoT' }).click();
    await page.getByRole('link', { name: 'Certificates' }).click();
    await page.locator('tr', { hasText: 'Factory line 2 intermediate' }).waitFor();
  });

  it('names the token that added a credential in the audit, with the device it is for', async () => {
    await page.getByRole('link', { name: 'Audit' }).click();
    const added = page.locator('tr[data-audit-type="credential.added"]', { hasText: 'sensor-42' });
    await added.waitFor();
    assert.equal(await added.locator('td.col-opt').textContent(), 'bootstrap (for sensor-42)');
  });

  it('shows how to connect a device: endpoint, server CA to download, and a command with the account’s credential', async () => {
    await page.getByRole('link', { name: 'Connect a device' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connect a device' }).waitFor();
    await page.getByText('mqtts://127.0.0.1:8883').waitFor();
    await page.getByText('Not enabled on this installation.').waitFor();
    await page.getByText(serverPki.root.cert.subject).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download server CA' }).click()]);
    assert.equal(download.suggestedFilename(), 'twoway-server-ca.pem');
    assert.equal(await readFile((await download.path())!, 'utf8'), serverPki.root.cert.pem);
    // Mutual TLS is on for Acme IoT (Settings above): the device needs its chain and key too.
    await page.getByText(/Its certificate chain — device-chain\.pem/).waitFor();
    assert.equal(await page.getByLabel('Credential').inputValue(), 'sensor-42');
    const cmd = (await page.getByLabel('mosquitto command').textContent()) ?? '';
    assert.match(cmd, /mosquitto_pub -h 127\.0\.0\.1 -p 8883 --cafile twoway-server-ca\.pem --cert device-chain\.pem --key device\.key -i sensor-42 -u sensor-42 -P "\$MQTT_PASSWORD" -t devices\/hello/);
    // The same device with Paho and with MQTT.js, each complete in itself (run for real in console-first-run.e2e).
    assert.equal(await page.getByLabel('Password line').textContent(), "export MQTT_PASSWORD='…the credential’s password…'");
    const paho = (await page.getByLabel('Python Paho command').textContent()) ?? '';
    assert.match(paho, /^python3 - <<'EOF'\n[\s\S]*tls\.load_cert_chain\(certfile="device-chain\.pem", keyfile="device\.key"\)[\s\S]*client\.connect\("127\.0\.0\.1", 8883\)[\s\S]*\nEOF$/);
    assert.equal(
      await page.getByLabel('MQTT.js command').textContent(),
      `npx --yes mqtt@5 pub -C mqtts -h 127.0.0.1 -p 8883 --ca twoway-server-ca.pem --cert device-chain.pem --key device.key -i sensor-42 -u sensor-42 -P "$MQTT_PASSWORD" -q 1 -t devices/hello -m 'hello from MQTT.js'`,
    );
    assert.match((await page.getByLabel('Device example settings').textContent()) ?? '', /MQTT_HOST=127\.0\.0\.1\nMQTT_PORT=8883\nMQTT_CA_FILE=twoway-server-ca\.pem\nMQTT_CERT_FILE=device-chain\.pem[\s\S]*examples\/devices\/mosquitto\/device\.sh/);
    await page.getByText(/Identity binding: Not bound\. Any device with a trusted certificate/).waitFor();
    await shot(page, '13b-connect-a-device');
  });

  for (const width of [1280, 390]) {
    it(`at ${width} px nothing overflows on any view, menu and dialog: no sideways page, no control cut`, async () => {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      const check = async (where: string) => assert.deepEqual(await layoutProblems(page), [], `${where} at ${width} px`);
      for (const route of ['certificates', 'settings', 'permissions', 'accounts', 'credentials', 'connect', 'test-connection', 'tokens', 'audit']) {
        await page.goto(`${api.url}/#/${route}?account=${api.rootAccount.id}`);
        await page.locator('.page-title').waitFor();
        await page.locator('.loading').first().waitFor({ state: 'detached' }).catch(() => undefined);
        if (route === 'accounts') await page.getByText('Factory Berlin').waitFor();
        if (route === 'permissions') await page.getByLabel('Rule 0: topic filter').waitFor();
        if (route === 'certificates') await page.locator('tr', { hasText: 'Factory line 2 intermediate' }).waitFor();
        if (route === 'audit') await page.locator('tr[data-audit-type]').first().waitFor();
        await check(route);
        for (const wrap of await page.locator('.table-wrap').all()) assert.equal(await wrap.evaluate((el) => getComputedStyle(el).overflowX), 'auto', `${route}: a table that scrolls`);
        if (width === 1280 && route === 'audit') {
          const wrap = await page.locator('.table-wrap').first().evaluate((el) => [el.scrollWidth, el.clientWidth]);
          assert.ok(wrap[0]! <= wrap[1]!, `the audit table fits at 1280 px (${wrap[0]} > ${wrap[1]})`);
        }
        await shot(page, `layout-${width}-${route}`);
      }
      // A dialog with a wide table in it: the chain preview of the Add dialog.
      await page.goto(`${api.url}/#/certificates?account=${api.rootAccount.id}`);
      await page.getByRole('button', { name: 'Add certificate' }).first().click();
      const add = page.getByRole('dialog', { name: 'Add certificate' });
      const pki = await makeTestPki();
      await add.getByLabel('Public certificate').fill(pki.intermediate.certPem + pki.root.certPem);
      await add.locator('.chain-preview tbody tr').nth(1).waitFor();
      await check('the Add certificate dialog with a chain preview');
      await shot(page, `layout-${width}-add-dialog`);
      await add.getByRole('button', { name: 'Cancel' }).click();
      // The details of an audit event, the widest dialog.
      await page.goto(`${api.url}/#/audit?account=${api.rootAccount.id}`);
      await page.locator('tr[data-audit-type="cert.status_changed"]').first().getByRole('button', { name: /^Details of/ }).click();
      await page.getByRole('dialog', { name: 'Certificate status changed' }).waitFor();
      await check('audit event details');
      await page.getByRole('dialog', { name: 'Certificate status changed' }).getByRole('button', { name: 'Close' }).first().click();
      if (width === 390) {
        await page.getByRole('button', { name: 'Menu' }).click();
        await page.getByRole('link', { name: 'Connect a device' }).waitFor();
        await check('the open menu');
        await page.getByRole('button', { name: 'Menu' }).click();
      }
      // The sidebar's background reaches the bottom of a page taller than the window.
      if (width === 1280) {
        const side = await page.evaluate(() => getComputedStyle(document.querySelector('.shell')!).backgroundImage);
        assert.match(side, /linear-gradient/);
      }
    });
  }

  it('works on a narrow screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'Certificates' }).click();
    await page.locator('tr', { hasText: 'Factory line 2 intermediate' }).waitFor();
    await shot(page, '15-narrow-certificates');
    await page.getByRole('button', { name: 'Menu' }).click();
    await shot(page, '16-narrow-menu');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('adds a chain file as one entry per certificate, and shows which entry the API refused', async () => {
    await page.getByRole('link', { name: 'Certificates' }).click();
    const pki = await makeTestPki();
    const fresh = await makeTestPki({ fresh: true });
    const open = async () => {
      await page.getByRole('button', { name: 'Add certificate' }).first().click();
      const d = page.getByRole('dialog', { name: 'Add certificate' });
      await d.getByLabel('Name').fill('Plant chain');
      return d;
    };
    // The intermediate is registered already: the whole file is refused, nothing stored, entry 1 marked.
    let dialog = await open();
    await dialog.getByLabel('Public certificate').fill(pki.intermediate.certPem + fresh.root.certPem);
    await dialog.getByRole('button', { name: 'Add 2 certificates' }).click();
    await dialog.getByRole('alert').filter({ hasText: /nothing was stored: entry 1: certificate sha256 .* is already registered/ }).getByText('CERT_DUPLICATE').waitFor();
    await dialog.locator('tr.row-refused[data-entry="1"]').getByText('refused').waitFor();
    assert.equal(api.certificates.some((c) => c.fingerprint === fresh.root.cert.fingerprint), false, 'nothing stored');
    await shot(page, '18-chain-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    // A new chain: both entries registered with split=true, named after the file's name.
    dialog = await open();
    await dialog.getByLabel('Public certificate').fill(fresh.intermediate.certPem + fresh.root.certPem);
    await dialog.getByRole('button', { name: 'Add 2 certificates' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok(api.requests.some((r) => r.method === 'POST' && r.url.endsWith('/certificates?split=true')));
    await page.locator('tr', { hasText: 'Plant chain #1 (intermediate)' }).getByText('Intermediate CA').waitFor();
    await page.locator('tr', { hasText: 'Plant chain #2 (root)' }).getByText('Root CA').waitFor();
  });

  it('revokes and restores from the row, keeping focus on the row; renames in Edit', async () => {
    const name = 'Plant chain #1 (intermediate)';
    const row = () => page.locator('tr', { hasText: name });
    const focusedRow = () => page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-cert-id'));
    const id = api.certificates.find((c) => c.name === name)!.id;
    await row().getByRole('button', { name: `Revoke ${name}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke certificate?' });
    await confirm.getByText('No live session goes through it right now (1 broker replica answered).').waitFor();
    await shot(page, '19-confirm-revoke-row');
    await confirm.getByRole('button', { name: 'Revoke certificate' }).click();
    await row().getByText('Revoked').waitFor();
    await waitFor(async () => (await focusedRow()) === id || undefined, { what: 'focus back on the revoked row' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Restore');
    // Cancel changes nothing and leaves focus where it was.
    await row().getByRole('button', { name: `Restore ${name}` }).click();
    await page.getByRole('dialog', { name: 'Restore certificate?' }).getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await focusedRow(), id);
    assert.equal(api.certificates.find((c) => c.id === id)!.status, 'REVOKED');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Restore certificate?' }).getByRole('button', { name: 'Restore certificate' }).click();
    await row().getByText('Valid').waitFor();
    assert.equal(await focusedRow(), id);
    assert.deepEqual(api.requests.filter((r) => r.method === 'PATCH' && r.url.includes(id)).map((r) => r.body), [{ status: 'REVOKED' }, { status: 'VALID' }]);

    await row().getByRole('button', { name: `Edit ${name}` }).click();
    const edit = page.getByRole('dialog', { name });
    await edit.getByLabel('Name').fill('Plant 7 intermediate');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr', { hasText: 'Plant 7 intermediate' }).getByText('Valid').waitFor();
    assert.deepEqual(api.requests.filter((r) => r.method === 'PATCH' && r.url.includes(id)).at(-1)?.body, { name: 'Plant 7 intermediate' });
    assert.equal(await focusedRow(), id);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.locator('tr[data-audit-type="cert.renamed"]').getByText('“Plant chain #1 (intermediate)” → “Plant 7 intermediate”').waitFor();
    await page.getByRole('link', { name: 'Certificates' }).click();
  });

  it('asks before signing out with unsaved changes, then signs out and forgets the token; the sign-in view fits at both sizes', async () => {
    await page.getByRole('link', { name: 'Topic permissions' }).click();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Rule 2: topic filter').fill('telemetry/${username}');
    await page.getByText('Unsaved changes').waitFor();
    // Keeping the changes: still signed in, the rule still there.
    const asked: string[] = [];
    page.once('dialog', (d) => (asked.push(d.message()), void d.dismiss()));
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.deepEqual(asked, ['You have unsaved changes on this page. Sign out and discard them?']);
    assert.equal(await page.getByLabel('Rule 2: topic filter').inputValue(), 'telemetry/${username}');
    assert.notEqual(await page.evaluate(() => sessionStorage.getItem('twoway.session')), null, 'still signed in');
    // Discarding them signs out.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(api.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/topic-rules')).length, 1, 'nothing saved');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('twoway.session')), null);
    for (const [width, height] of [[390, 844], [1280, 800]] as const) {
      await page.setViewportSize({ width, height });
      assert.deepEqual(await layoutProblems(page), [], `sign-in at ${width} px`);
    }
    await page.goto(api.url); // a new visit, at the bare address
  });

  it('shows an account admin that mutual TLS availability is the provider’s to grant', async () => {
    await signIn(page, api.factoryAdminToken);
    assert.equal(await page.locator('.account-name').textContent(), 'Factory Berlin');
    await page.getByRole('link', { name: 'Settings' }).click();
    const available = page.getByRole('switch', { name: /Mutual TLS available/ });
    await available.waitFor();
    assert.equal(await available.isDisabled(), true);
    assert.equal(await available.getAttribute('aria-describedby').then((id) => page.locator(`#${id}`).textContent()), 'Provider-controlled. Only your provider can make mutual TLS available to this account; ask them if you need it.');
    assert.equal(await page.getByRole('switch', { name: /^Mutual TLS$/ }).isDisabled(), true);
    await shot(page, '17-settings-account-admin');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    // The browser logs refused requests too: the 401s of sign-in and the duplicate chain's 409 are expected.
    assert.deepEqual(errors.filter((e) => !e.includes('401') && !e.includes('409 (Conflict)')), [], 'no script errors in the page');
  });
});

describe('admin console without whoami', { skip: needsChromium }, () => {
  it('asks for the account id when the API cannot say whose token it is', async (t) => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    const api = await FakeApi.start({ consoleDir, whoami: false });
    const profile = await tempDir('twoway-chromium-');
    let context: BrowserContext | undefined;
    t.after(async () => {
      await context?.close();
      await api.stop();
      await profile[Symbol.asyncDispose]();
    });
    context = await launch(profile.path, { width: 1280, height: 800 });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(api.url);
    await page.getByLabel('API token').fill(api.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Account id').fill(api.rootAccount.id);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
    assert.equal(await page.locator('.account-name').textContent(), 'Acme IoT');
  });
});
