// "Why refused?" in the console against the whole system, at 1280×800 and 390×844: a real device is
// refused (its certificate names another client id), the operator follows "Why?" from the audit row to
// Test a connection with the client id and username filled in, uploads the device's chain, and sees the
// broker's answer — refuse, CN_MISMATCH, what it means and the fix, the path with the registered root —
// then corrects the client id, gives the password and sees it admitted. A pasted private key is dropped
// and never sent. The page never scrolls sideways and no control is cut. Screenshots go to test-results/console-dry-run/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { ReasonDocs } from '@twoway/contracts';
import { System, makeTestPki, tempDir, waitFor, type TestPki } from '@twoway/testing';
import type { Issued } from '@twoway/pki';
import { tryConnect } from '../e2e/support/mqtt.js';
import { Operator } from '../e2e/support/operator.js';
import { launch, layoutProblems, needsChromium, signIn } from './browser.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const shots = `${repo}test-results/console-dry-run`;
const PASSWORD = 'sensor-17-password';

describe('console: why was a device refused (dry run) against the real system', { skip: needsChromium, timeout: 300_000 }, () => {
  let sys: System;
  let context: BrowserContext;
  let page: Page;
  let profile: Awaited<ReturnType<typeof tempDir>>;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let pki: TestPki;
  let device: Issued;
  let account: string;
  let token: string;
  let chainFile: string;
  /** Every dry-run request the page sent, as sent. */
  const sent: string[] = [];

  before(async () => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    sys = await System.start();
    const op = new Operator(sys);
    account = await op.account('Why Fleet', { mtls: true, tls: false, identity: { bindCertificateTo: 'clientId' } });
    await op.credential(account, 'sensor-17', PASSWORD);
    pki = await makeTestPki({ fresh: true });
    await op.register(account, 'Fleet root', pki.root.certPem);
    token = (await sys.api<{ token: string }>('POST', `/api/v1/accounts/${account}/tokens`, { name: 'fleet operator', role: 'operator' })).body.token;
    device = await pki.device('sensor-17');
    work = await tempDir('twoway-dry-run-');
    chainFile = join(work.path, 'sensor-17-chain.pem');
    await writeFile(chainFile, device.chainPem);
    profile = await tempDir('twoway-chromium-');
    context = await launch(profile.path, { width: 1280, height: 800 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => {
      if (r.url().endsWith('/dry-run')) sent.push(r.postData() ?? '');
    });
  });
  after(async () => {
    await context?.close();
    await sys?.stop();
    await profile?.[Symbol.asyncDispose]();
    await work?.[Symbol.asyncDispose]();
  });

  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    it(`at ${width}×${height}: from the refused row's "Why?" to the broker's answer, then admitted`, async () => {
      await page.setViewportSize({ width, height });
      const narrow = width < 860;
      const shot = (name: string) => page.screenshot({ path: `${shots}/${width}-${name}.png`, fullPage: true });
      /** No sideways scrolling of the page and no control cut. */
      const fits = async (where: string) => assert.deepEqual(await layoutProblems(page), [], `${where} at ${width}×${height}`);
      const clientId = `sensor-17-${width}`;

      // A real device connects with a client id its certificate does not name: refused.
      const ca = await readFile(sys.caFile, 'utf8');
      const real = await tryConnect(sys.mqttPort, { ca, cert: device.chainPem, key: device.keyPem }, { clientId, username: 'sensor-17', password: PASSWORD });
      assert.equal(real.connected, false);

      await page.goto(`${sys.apiUrl}/`);
      await page.evaluate(() => sessionStorage.clear());
      await page.reload();
      await signIn(page, token);
      if (narrow) await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('link', { name: 'Audit' }).click();
      const row = page.locator('tr[data-audit-type="connect.rejected"]', { hasText: clientId });
      await row.getByText('CN_MISMATCH').waitFor({ timeout: 20_000 });
      await fits('audit');
      await shot('01-audit-refusal');

      // "Why?" opens Test a connection with the device's client id and username.
      await row.getByRole('link', { name: /Why was .* refused/ }).click();
      await page.getByRole('heading', { level: 1, name: 'Test a connection' }).waitFor();
      assert.equal(await page.getByLabel('Client id').inputValue(), clientId);
      assert.equal(await page.getByLabel('Username').inputValue(), 'sensor-17');

      // A pasted private key never leaves the page.
      const before = sent.length;
      await page.getByLabel('Certificate chain').fill(device.keyPem);
      await page.getByText(/contains a private key/).waitFor();
      assert.equal(await page.getByLabel('Certificate chain').inputValue(), '', 'the key was dropped from the form');
      await page.getByRole('button', { name: 'Test connection' }).click();
      assert.equal(sent.length, before, 'nothing was sent');

      // Upload the chain: the broker says why.
      await page.locator('input[type=file]').setInputFiles(chainFile);
      await page.getByText('✓ 2 certificates').waitFor();
      await page.getByRole('button', { name: 'Test connection' }).click();
      const result = page.locator('.dry-run-result');
      await result.getByText('The broker would refuse this device').waitFor();
      await result.locator('code.reason', { hasText: 'CN_MISMATCH' }).waitFor();
      await result.getByText(ReasonDocs.CN_MISMATCH.explanation).waitFor();
      await result.getByText(ReasonDocs.CN_MISMATCH.fix).waitFor();
      await result.getByText(/No password was given/).waitFor();
      const path = result.locator('table tbody tr');
      assert.equal(await path.count(), 3);
      await path.nth(2).getByText('“Fleet root”').waitFor();
      await fits('refused answer');
      await shot('02-refused-why');

      // The right client id and the password: admitted, the password checked and never shown.
      await page.getByLabel('Client id').fill('sensor-17');
      await page.getByLabel('Password (optional)').fill(PASSWORD);
      await page.getByRole('button', { name: 'Test connection' }).click();
      await result.getByText('The broker would let this device in').waitFor();
      await result.locator('code.reason', { hasText: 'MUTUAL_TLS' }).waitFor();
      assert.equal(await result.getByText(/No password was given/).count(), 0);
      assert.equal((await page.content()).includes(PASSWORD), false, 'the password is not shown anywhere on the page');
      await fits('admitted answer');
      await shot('03-admitted');
      assert.ok(JSON.parse(sent.at(-1)!).password === PASSWORD && sent.every((s) => !s.includes('PRIVATE KEY')));
    });
  }

  it('the dry runs are in the audit trail, by the operator token, without the password', async () => {
    const op = new Operator(sys);
    const events = await waitFor(async () => {
      const items = await op.audit(account, { type: 'dry_run.decided' });
      return items.length >= 4 ? items : undefined;
    }, { what: 'four dry_run.decided events', timeoutMs: 20_000 });
    assert.ok(events.every((e) => (e.actor as { name?: string }).name === 'fleet operator'));
    assert.equal(JSON.stringify(events).includes(PASSWORD), false);
  });
});
