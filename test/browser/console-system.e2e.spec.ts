// The console against the whole running system: an operator signs in with a token, registers the
// fleet's root CA in the Add dialog, a real device connects over mutual TLS, the operator suspends the
// CA in the console, the device's session ends, and the Audit view shows why.
// Screenshots go to test-results/console-system/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { System, makeTestPki, tempDir, type TestPki } from '@twoway/testing';
import { tryConnect } from '../e2e/support/mqtt.js';
import { Operator } from '../e2e/support/operator.js';
import { launch, needsChromium, signIn } from './browser.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const shots = `${repo}test-results/console-system`;

describe('console with the real system: suspend a CA, see the device drop and why', { skip: needsChromium, timeout: 240_000 }, () => {
  let sys: System;
  let context: BrowserContext;
  let page: Page;
  let profile: Awaited<ReturnType<typeof tempDir>>;
  let pki: TestPki;
  let accountId: string;
  let adminToken: string;
  const password = 'browser-device-password';
  const shot = (name: string) => page.screenshot({ path: `${shots}/${name}.png` });

  before(async () => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    sys = await System.start();
    const op = new Operator(sys);
    accountId = await op.account('Browser Fleet');
    await op.credential(accountId, 'browser-sensor', password);
    adminToken = (await sys.api<{ token: string }>('POST', `/api/v1/accounts/${accountId}/tokens`, { name: 'fleet admin', role: 'admin' })).body.token;
    pki = await makeTestPki({ fresh: true });
    profile = await tempDir('twoway-chromium-');
    context = await launch(profile.path, { width: 1280, height: 800 });
    page = context.pages()[0] ?? (await context.newPage());
  });
  after(async () => {
    await context?.close();
    await sys?.stop();
    await profile?.[Symbol.asyncDispose]();
  });

  it('signs in, registers the root CA, sees a device connect, suspends the CA, and the audit view says why the device dropped', async () => {
    await page.goto(`${sys.apiUrl}/`);
    await signIn(page, adminToken);

    await page.getByRole('button', { name: 'Add certificate' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Add certificate' });
    await dialog.getByLabel('Name').fill('Fleet root CA');
    await dialog.getByLabel('Public certificate').fill(pki.root.certPem);
    await dialog.getByRole('button', { name: 'Add certificate' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('tr', { hasText: 'Fleet root CA' }).getByText('Valid').waitFor();
    await shot('01-root-registered');

    // a real device under that root connects over mutual TLS
    const dev = await pki.device('browser-sensor');
    const ca = await readFile(sys.caFile, 'utf8');
    const session = await tryConnect(sys.mqttPort, { ca, cert: dev.chainPem, key: dev.keyPem }, { clientId: 'browser-sensor', username: 'browser-sensor', password });
    assert.equal(session.connected, true, session.error);
    const dropped = new Promise<void>((resolve) => session.client!.once('close', () => resolve()));

    await page.getByRole('button', { name: 'Edit Fleet root CA' }).click();
    const edit = page.getByRole('dialog', { name: 'Fleet root CA' });
    await edit.getByLabel(/Suspended/).check();
    await edit.getByRole('button', { name: 'Save' }).click();
    const confirm = page.getByRole('dialog', { name: 'Suspend certificate?' });
    // Counted by the real broker: the device's session, and that it cannot come back on its password
    // (plain TLS is off, and its credential, created with mutual TLS on, requires a certificate).
    await confirm.getByText('1 live session on 1 broker will end, in 1 account: Browser Fleet (1)', { exact: false }).waitFor();
    await confirm.locator('.fallback-risk').getByText('None of these devices can reconnect with its password alone', { exact: false }).waitFor();
    await shot('02-confirm-suspend');
    await confirm.getByRole('button', { name: 'Suspend certificate' }).click();
    await page.locator('tr', { hasText: 'Fleet root CA' }).getByText('Suspended').waitFor();
    await dropped; // the live session ended

    await page.getByRole('link', { name: 'Audit' }).click();
    const ended = page.locator('tr[data-audit-type="session.ended"]', { hasText: 'browser-sensor' });
    await ended.getByText('SESSION_CERT_STATUS_CHANGED').waitFor({ timeout: 15_000 });
    await shot('03-audit-session-ended');

    // and the device cannot come back while the CA is suspended
    const again = await tryConnect(sys.mqttPort, { ca, cert: dev.chainPem, key: dev.keyPem }, { clientId: 'browser-sensor', username: 'browser-sensor', password });
    assert.equal(again.connected, false);
    await page.locator('tr[data-audit-type="connect.rejected"]', { hasText: 'browser-sensor' }).getByText('ANCHOR_SUSPENDED').waitFor({ timeout: 15_000 });
    await shot('04-audit-rejected');
  });
});
