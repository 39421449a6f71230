// Certificate expiry in the console, in a real browser (Debian's chromium through playwright-core)
// against the in-memory fake of the REST API, at 1280×800 and 390×844: the certificate list marks what
// expires soon or has expired, and the "Expiring within N days" filter asks the API for exactly that.
// Screenshots go to test-results/console-expiry/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { DAY_MS } from '@twoway/contracts';
import { issueDeviceCert, issueIntermediateCa } from '@twoway/pki';
import { makeTestPki, tempDir, waitFor } from '@twoway/testing';
import { launch, layoutProblems, needsChromium, signIn } from './browser.js';
import { FakeApi } from './fake-api.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const shots = `${repo}test-results/console-expiry`;

describe('console: certificate expiry', { skip: needsChromium }, () => {
  let api: FakeApi;
  let context: BrowserContext;
  let page: Page;
  let profile: Awaited<ReturnType<typeof tempDir>> | undefined;
  const errors: string[] = [];

  before(async () => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    api = await FakeApi.start({ consoleDir: `${repo}apps/console/dist`, whoami: true });
    // A fleet root with years left, a production batch ending in 10 days, a pinned device that ended yesterday.
    const pki = await makeTestPki();
    const batch = await issueIntermediateCa({ issuer: pki.root, commonName: 'Batch 7', days: 10 });
    const ended = await issueDeviceCert({ issuer: pki.intermediate, commonName: 'sensor-old', notBefore: new Date(Date.now() - 30 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
    for (const [name, pem] of [['Fleet root', pki.root.certPem], ['Batch 7 intermediate', batch.certPem], ['Pinned sensor-old', ended.certPem]]) {
      const r = await fetch(`${api.url}/api/v1/accounts/${api.rootAccount.id}/certificates`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, usage: 'MUTUAL_AUTHENTICATION', certificate: pem }),
      });
      assert.equal(r.status, 201, await r.text());
    }
    profile = await tempDir('twoway-chromium-');
    context = await launch(profile.path, { width: 1280, height: 800 });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(api.url);
    await signIn(page, api.adminToken);
  });
  after(async () => {
    await context?.close();
    await api?.stop();
    await profile?.[Symbol.asyncDispose]();
  });

  /** The names listed, in order, with the badges of their status cell. */
  const listed = () =>
    page.locator('tbody tr[data-cert-id]').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('.cell-title')?.textContent, Array.from(r.querySelectorAll('td .badges .badge'), (b) => b.textContent).join(' + ')]),
    );
  const listedNames = async () => (await listed()).map(([n]) => n).join(', ');
  const asked = (days: string) => api.requests.some((r) => r.url.includes('/certificates?') && r.url.includes(`expiresWithinDays=${days}`));

  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    it(`at ${width}×${height}: badges on what expires soon or has expired, and the filter "Expiring within N days"`, async () => {
      await page.setViewportSize({ width, height });
      const shot = (name: string) => page.screenshot({ path: `${shots}/${width}-${name}.png` });
      await page.getByLabel('Expiry', { exact: true }).selectOption('');
      await waitFor(async () => (await listedNames()) === 'Fleet root, Batch 7 intermediate, Pinned sensor-old' || undefined, { what: 'every certificate listed' });
      assert.deepEqual(await listed(), [
        ['Fleet root', 'Valid'],
        ['Batch 7 intermediate', 'Valid + Expires soon'],
        ['Pinned sensor-old', 'Valid + Expired'],
      ]);
      await shot('01-badges');

      await page.getByLabel('Expiry', { exact: true }).selectOption({ label: 'Expiring within 30 days' });
      await waitFor(async () => (await listedNames()) === 'Batch 7 intermediate, Pinned sensor-old' || undefined, { what: 'the certificates to renew within 30 days' });
      assert.ok(asked('30'), 'the API was asked for expiresWithinDays=30');
      await shot('02-expiring-within-30-days');

      await page.getByLabel('Expiry', { exact: true }).selectOption({ label: 'Expiring within 7 days' });
      await waitFor(async () => (await listedNames()) === 'Pinned sensor-old' || undefined, { what: 'only the expired one within 7 days' });
      await page.getByLabel('Expiry', { exact: true }).selectOption({ label: 'Expired' });
      await waitFor(() => asked('0') || undefined, { what: 'expiresWithinDays=0' });
      await waitFor(async () => (await listedNames()) === 'Pinned sensor-old' || undefined, { what: 'the expired one' });

      // The expiry is in the details too.
      await page.getByRole('button', { name: 'Edit Pinned sensor-old' }).click();
      const details = page.getByRole('dialog', { name: 'Pinned sensor-old' });
      await details.locator('dd .badge', { hasText: 'Expired' }).waitFor();
      await shot('03-details-expired');
      await details.getByRole('button', { name: 'Cancel' }).click();
      await details.waitFor({ state: 'detached' });

      assert.deepEqual(await layoutProblems(page), [], `the certificate list at ${width}×${height}`);
      assert.deepEqual(errors, []);
    });
  }

  it('says there is nothing to renew when no certificate expires within the chosen days', async () => {
    for (const c of api.certificates) c.notAfter = new Date(Date.now() + 400 * DAY_MS).toISOString();
    await page.getByLabel('Expiry', { exact: true }).selectOption({ label: 'Expiring within 90 days' });
    await page.getByText('Nothing to renew').waitFor();
    await page.getByText('No certificate of this account expires within 90 days.').waitFor();
  });
});
