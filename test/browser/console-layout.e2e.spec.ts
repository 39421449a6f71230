// The console's layout under the longest things an operator can name: every view (and the menu, and the
// dialogs with the most in them) at 1280×800 and 390×844 with an account, certificates, a credential, a
// token and audit events whose names run long or carry no space to break at. Nothing may scroll the page
// sideways or cut a control (browser.ts, layoutProblems). Against the in-memory fake of the REST API.
// Screenshots go to test-results/console-layout/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { makeTestPki, tempDir } from '@twoway/testing';
import { launch, layoutProblems, needsChromium, signIn } from './browser.js';
import { FakeApi } from './fake-api.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const shots = `${repo}test-results/console-layout`;

const LONG_ACCOUNT = 'Stadtwerke Baden-Württemberg Süd — Netzleittechnik Umspannwerke Nord';
const UNBROKEN = `sensor-${'0123456789abcdef'.repeat(4)}`;
const LONG_CERT = 'Production line 7 Böblingen plant intermediate CA, second generation, issued for the 2026 batches';

describe('console layout with long names', { skip: needsChromium, timeout: 180_000 }, () => {
  let api: FakeApi;
  let context: BrowserContext;
  let page: Page;
  let profile: Awaited<ReturnType<typeof tempDir>>;
  let accountId: string;
  /** A device chain below the registered certificates, for Test a connection's answer. */
  let chainPem: string;

  before(async () => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    const serverPki = await makeTestPki();
    api = await FakeApi.start({ consoleDir: `${repo}apps/console/dist`, whoami: true, serverCaPem: serverPki.root.certPem });
    const call = async <T>(method: string, path: string, body: unknown): Promise<T> => {
      const r = await fetch(`${api.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.ok(r.ok, `${method} ${path} → ${r.status} ${await r.clone().text()}`);
      return (await r.json()) as T;
    };
    accountId = (await call<{ id: string }>('POST', '/accounts', { name: LONG_ACCOUNT, parentId: api.rootAccount.id })).id;
    await call('PUT', `/accounts/${accountId}/settings`, { mutualTls: { available: true, enabled: true } });
    const pki = await makeTestPki({ fresh: true });
    await call('POST', `/accounts/${accountId}/certificates`, { name: LONG_CERT, usage: 'MUTUAL_AUTHENTICATION', certificate: pki.intermediate.certPem });
    await call('POST', `/accounts/${accountId}/certificates`, { name: UNBROKEN, usage: 'MUTUAL_AUTHENTICATION', certificate: pki.root.certPem });
    await call('POST', `/accounts/${accountId}/credentials`, { username: UNBROKEN, password: 'layout-password-1' });
    await call('PUT', `/accounts/${accountId}/topic-rules`, {
      rules: [
        { effect: 'deny', action: 'both', filter: `devices/\${clientId}/${UNBROKEN}/${UNBROKEN}/admin/#` },
        { effect: 'allow', action: 'publish', filter: `telemetry/\${username}/${LONG_CERT.replaceAll(' ', '-')}` },
      ],
    });
    chainPem = (await pki.device(UNBROKEN)).chainPem + pki.root.certPem;
    await call('POST', `/accounts/${accountId}/tokens`, { name: `${LONG_CERT} provisioning`, role: 'provisioner' });
    for (const reason of ['CERT_SUSPENDED', 'BAD_CREDENTIALS']) {
      api.emitAudit({ type: 'connect.rejected', outcome: 'rejected', reason, account: accountId, accountPath: [accountId, api.rootAccount.id], device: { clientId: UNBROKEN, username: UNBROKEN, certificateSubject: `CN=${UNBROKEN},O=${LONG_ACCOUNT}` }, source: 'broker-0' });
    }
    profile = await tempDir('twoway-chromium-');
    context = await launch(profile.path, { width: 1280, height: 800 });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(api.url);
    await signIn(page, api.adminToken);
  });
  after(async () => {
    await context?.close();
    await api?.stop();
    await profile?.[Symbol.asyncDispose]();
  });

  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    it(`at ${width}×${height}: every view, the menu and the fullest dialogs`, async () => {
      await page.setViewportSize({ width, height });
      const check = async (where: string) => {
        await page.screenshot({ path: `${shots}/${width}-${where.replace(/\W+/g, '-')}.png` });
        assert.deepEqual(await layoutProblems(page), [], `${where} at ${width}×${height}`);
      };
      const views: [string, () => Promise<void>][] = [
        ['certificates', () => page.locator('tr', { hasText: UNBROKEN }).first().waitFor()],
        ['settings', () => page.getByRole('switch', { name: /Mutual TLS available/ }).waitFor()],
        ['permissions', () => page.getByLabel('Rule 1: topic filter').waitFor()],
        [
          'test-connection',
          async () => {
            // The form and the answer: its path table names every certificate and its registration.
            await page.getByLabel('Certificate chain').fill(chainPem);
            await page.getByLabel('Client id').fill(`${UNBROKEN}-${UNBROKEN}`);
            await page.getByLabel('Username').fill(UNBROKEN);
            await page.getByRole('button', { name: 'Test connection' }).click();
            await page.locator('.dry-run-result tbody tr').nth(2).waitFor();
          },
        ],
        ['accounts', () => page.locator(`[data-account-id="${accountId}"]`).waitFor()],
        ['credentials', () => page.locator('tr', { hasText: UNBROKEN }).first().waitFor()],
        ['connect', () => page.getByLabel('MQTT.js command').waitFor()],
        ['tokens', () => page.locator('tr', { hasText: 'provisioning' }).first().waitFor()],
        ['audit', () => page.locator('tr[data-audit-type="connect.rejected"]').first().waitFor()],
      ];
      for (const [route, ready] of views) {
        await page.goto(`${api.url}/#/${route}?account=${accountId}`);
        await page.locator('.page-title').waitFor();
        await ready();
        await check(route);
      }
      if (width < 860) {
        await page.getByRole('button', { name: 'Menu' }).click();
        await page.getByRole('link', { name: 'Audit' }).waitFor();
        await check('menu');
        await page.getByRole('button', { name: 'Menu' }).click();
      }
      await page.locator('tr[data-audit-type="connect.rejected"]').first().getByRole('button', { name: /^Details of/ }).click();
      const details = page.getByRole('dialog', { name: 'Connect rejected' });
      await details.waitFor();
      await check('audit details');
      await details.getByRole('button', { name: 'Close' }).first().click();

      await page.goto(`${api.url}/#/certificates?account=${accountId}`);
      await page.getByRole('button', { name: `Edit ${LONG_CERT}` }).click();
      const edit = page.getByRole('dialog', { name: LONG_CERT });
      await edit.waitFor();
      await check('edit certificate');
      await edit.getByRole('button', { name: 'Cancel' }).click();
    });
  }
});
