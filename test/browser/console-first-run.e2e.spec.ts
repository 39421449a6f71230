// A new operator's first run, in the console against the whole system (`twoway up` with its demo
// account), at 1280×800 and at 390×844: sign in with the token and land on the demo account (at the
// bare address, and at the console link `twoway up` printed), read how to connect a device, download
// the server CA and publish with each command it shows (mosquitto, Paho, MQTT.js) as copied, add a
// chain file split into entries, suspend the intermediate from its row after a confirmation that
// counts the live session it ends, see the refusal and its reason in the audit view, export the audit
// as CSV, and restore it. At every step the page never scrolls sideways and no control is cut.
// Screenshots go to test-results/console-first-run/.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { parsePemCertificates } from '@twoway/pki';
import { System, makeTestPki, tempDir, waitFor } from '@twoway/testing';
import { tryConnect, type ConnectResult } from '../e2e/support/mqtt.js';
import { launch, layoutProblems, needsChromium, signIn } from './browser.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const shots = `${repo}test-results/console-first-run`;

describe('console first run against the real system', { skip: needsChromium, timeout: 300_000 }, () => {
  let sys: System;
  let context: BrowserContext;
  let page: Page;
  let profile: Awaited<ReturnType<typeof tempDir>>;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let demo: { accountId: string; username: string };
  let password: string;
  let deviceEnv: NodeJS.ProcessEnv;
  const sessions: ConnectResult[] = [];

  before(async () => {
    execFileSync(process.execPath, [`${repo}apps/console/build.mjs`], { stdio: 'pipe' });
    mkdirSync(shots, { recursive: true });
    sys = await System.start({ demo: true });
    demo = JSON.parse(await readFile(join(sys.dataDir, 'demo.json'), 'utf8')) as typeof demo;
    password = (await readFile(join(sys.dataDir, 'pki', 'device.password'), 'utf8')).trim();
    profile = await tempDir('twoway-chromium-');
    work = await tempDir('twoway-device-');
    // The device machine: the mqtt package installed in its folder, python3 the distribution's (with paho-mqtt).
    await mkdir(join(work.path, 'node_modules', '.bin'), { recursive: true });
    await mkdir(join(work.path, 'bin'));
    await symlink(`${repo}node_modules/mqtt`, join(work.path, 'node_modules', 'mqtt'));
    await symlink('../mqtt/build/bin/mqtt.js', join(work.path, 'node_modules', '.bin', 'mqtt'));
    await symlink('/usr/bin/python3', join(work.path, 'bin', 'python3'));
    deviceEnv = { ...process.env, PATH: `${join(work.path, 'bin')}:${process.env.PATH}`, npm_config_offline: 'true', npm_config_update_notifier: 'false' };
    delete deviceEnv.NODE_TEST_CONTEXT; // the commands are not tests
    context = await launch(profile.path, { width: 1280, height: 800 });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: sys.apiUrl });
    page = context.pages()[0] ?? (await context.newPage());
  });
  after(async () => {
    for (const s of sessions) s.client?.end(true);
    await context?.close();
    await sys?.stop();
    await profile?.[Symbol.asyncDispose]();
    await work?.[Symbol.asyncDispose]();
  });

  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    it(`at ${width}×${height}: connect panel, chain split, suspend from the row with its blast radius, the refusal in the audit, restore`, async () => {
      await page.setViewportSize({ width, height });
      const narrow = width < 860;
      const shot = (name: string) => page.screenshot({ path: `${shots}/${width}-${name}.png` });
      /** No sideways scrolling of the page and no control cut, at every step. */
      const fits = async (where: string) => {
        assert.deepEqual(await layoutProblems(page), [], `${where} at ${width}×${height}`);
      };
      const go = async (label: string) => {
        if (narrow) await page.getByRole('button', { name: 'Menu' }).click();
        await page.getByRole('link', { name: label }).click();
      };

      // Sign in with the provider's token at the bare address (a new tab's worth of session: nothing
      // kept from before): the provider's home holds nothing and has one sub-account, so the console
      // opens the demo account, not an empty page.
      await page.goto(`${sys.apiUrl}/`);
      await page.evaluate(() => sessionStorage.clear());
      await page.reload();
      await signIn(page, sys.token);
      await page.getByRole('status').filter({ hasText: 'Opened “demo”, the one account below' }).waitFor();
      await page.locator('tr', { hasText: 'twoway dev root CA' }).waitFor();
      assert.equal(await page.title(), 'Certificates · demo · twoway');
      assert.match(page.url(), new RegExp(`#/certificates\\?account=${demo.accountId}$`));
      await fits('certificates of demo');
      await shot('00-landing');
      if (narrow) await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('button', { name: 'Sign out' }).click();

      // The console link `twoway up` printed opens the demo account's "Connect a device" after sign-in.
      const link = /^ {2}console +(\S+)/m.exec(sys.proc.log)?.[1];
      assert.equal(link, `${sys.apiUrl}/#/connect?account=${demo.accountId}`, `the console line of:\n${sys.proc.log}`);
      await page.goto(link);
      await signIn(page, sys.token, 'Connect a device');
      assert.equal(await page.title(), 'Connect a device · demo · twoway');

      // How a device connects: the endpoint, the server CA, and a command with the demo credential.
      await page.getByText(`mqtts://127.0.0.1:${sys.mqttPort}`).waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download server CA' }).click()]);
      assert.equal(download.suggestedFilename(), 'twoway-server-ca.pem');
      const caPem = await readFile((await download.path())!, 'utf8');
      assert.equal(parsePemCertificates(caPem)[0]!.fingerprint, parsePemCertificates(await readFile(sys.caFile, 'utf8'))[0]!.fingerprint, 'the CA devices trust');
      assert.equal(await page.getByLabel('Credential').inputValue(), demo.username);
      await fits('connect a device');
      await shot('01-connect');

      // Each command as copied from the panel, run on a "device machine": a folder with the device's
      // files under the names the panel uses and no checkout of this repository, the mqtt package
      // installed there (npx fetches nothing), the distribution's python3 with paho-mqtt. The password
      // line is run with the password typed in. Every message arrives at a subscriber of the account.
      await writeFile(join(work.path, 'twoway-server-ca.pem'), caPem);
      await copyFile(join(sys.dataDir, 'pki', 'device.pem'), join(work.path, 'device-chain.pem'));
      await copyFile(join(sys.dataDir, 'pki', 'device.key'), join(work.path, 'device.key'));
      const listener = await tryConnect(sys.mqttPort, { ca: caPem, cert: await readFile(join(sys.dataDir, 'pki', 'device.pem'), 'utf8'), key: await readFile(join(sys.dataDir, 'pki', 'device.key'), 'utf8') }, { clientId: `${demo.username}-listener-${width}`, username: demo.username, password });
      sessions.push(listener);
      assert.equal(listener.connected, true, listener.error);
      const arrived: string[] = [];
      listener.client!.on('message', (topic, payload) => arrived.push(`${topic} ${payload.toString()}`));
      await listener.client!.subscribeAsync('devices/hello', { qos: 1 });
      const copied = async (label: string): Promise<string> => {
        await page.getByRole('button', { name: `Copy ${label}` }).click();
        const text = await page.evaluate(() => navigator.clipboard.readText());
        assert.equal(text, await page.getByLabel(new RegExp(`^${label}$`, 'i')).textContent(), `the ${label} copied as shown`);
        return text;
      };
      const passwordLine = (await copied('password line')).replace('…the credential’s password…', password);
      for (const [label, message] of [['mosquitto command', 'hello from a device'], ['Python Paho command', 'hello from Python'], ['MQTT.js command', 'hello from MQTT.js']] as const) {
        const command = await copied(label);
        assert.doesNotMatch(command, /examples\/devices/, `${label} needs no checkout`);
        // As a file, so that a failure's message names the file rather than the password.
        await writeFile(join(work.path, 'try.sh'), `${passwordLine}\n${command}\n`, { mode: 0o600 });
        const run = await promisify(execFile)('bash', ['try.sh'], { cwd: work.path, env: deviceEnv, timeout: 60_000 });
        if (label === 'mosquitto command') assert.match(run.stderr + run.stdout, /received CONNACK \(0\)/);
        await waitFor(() => arrived.includes(`devices/hello ${message}`) || undefined, { what: `the message of the ${label}: ${run.stdout}${run.stderr}`, timeoutMs: 10_000 });
      }
      listener.client!.end();

      // A chain file: previewed, then registered as one entry per certificate (split).
      const pki = await makeTestPki({ fresh: true });
      const chain = `Batch ${width}`;
      await go('Certificates');
      await page.getByRole('button', { name: 'Add certificate' }).first().click();
      const add = page.getByRole('dialog', { name: 'Add certificate' });
      await add.getByLabel('Name').fill(chain);
      await add.getByLabel('Public certificate').fill(pki.intermediate.certPem + pki.root.certPem);
      await add.locator('.chain-preview tbody tr').nth(1).getByText('Root CA').waitFor();
      await fits('chain preview');
      // Nor does the dialog: the preview table scrolls inside it.
      const body = await add.locator('.dialog-body').evaluate((el) => [el.scrollWidth, el.clientWidth]);
      assert.ok(body[0]! <= body[1]!, `the Add dialog is ${body[0]} px wide inside ${body[1]} px`);
      await shot('02-chain-preview');
      await add.getByRole('button', { name: 'Add 2 certificates' }).click();
      await add.waitFor({ state: 'detached' });
      const inter = `${chain} #1 (intermediate)`;
      const row = page.locator('tr', { hasText: inter });
      await row.getByText('Valid').waitFor();
      await page.locator('tr', { hasText: `${chain} #2 (root)` }).getByText('Valid').waitFor();

      // A device below the new intermediate connects with the demo credential.
      const ca = await readFile(sys.caFile, 'utf8');
      const device = await pki.device(demo.username);
      const tls = { ca, cert: device.chainPem, key: device.keyPem };
      const live = await tryConnect(sys.mqttPort, tls, { clientId: `${demo.username}-${width}`, username: demo.username, password });
      sessions.push(live);
      assert.equal(live.connected, true, live.error);
      const dropped = new Promise<void>((resolve) => live.client!.once('close', () => resolve()));

      // Suspend it from its row: the confirmation counts the live session it ends, and where.
      await row.getByRole('button', { name: `Suspend ${inter}` }).click();
      const confirm = page.getByRole('dialog', { name: 'Suspend certificate?' });
      await confirm.getByText('1 live session on 1 broker will end, in 1 account: demo (1) (1 broker replica answered).').waitFor();
      // …and whether that device could come back on its password alone (the demo credential's setting).
      await confirm.getByText(/reconnect with (its|their) password alone/).waitFor();
      await fits('suspend confirmation');
      await shot('03-confirm-suspend');
      await confirm.getByRole('button', { name: 'Suspend certificate' }).click();
      await row.getByText('Suspended').waitFor();
      await waitFor(async () => (await page.evaluate(() => document.activeElement?.closest('tr')?.textContent ?? '')).includes(inter) || undefined, { what: 'focus back on the row' });
      await dropped;

      // The device is refused now, and the audit view says why.
      const again = await tryConnect(sys.mqttPort, tls, { clientId: `${demo.username}-${width}`, username: demo.username, password });
      assert.equal(again.connected, false);
      assert.equal(again.returnCode, 5);
      await go('Audit');
      const refused = page.locator('tr[data-audit-type="connect.rejected"]', { hasText: `${demo.username}-${width}` }).first();
      // The registered root is the anchor; the suspended intermediate is a certificate on the path.
      await refused.getByText('CERT_SUSPENDED').waitFor({ timeout: 15_000 });
      await refused.scrollIntoViewIfNeeded();
      await refused.getByText('A certificate on the device’s chain is suspended.').waitFor();
      await page.locator('tr[data-audit-type="session.ended"]', { hasText: `${demo.username}-${width}` }).getByText('SESSION_CERT_STATUS_CHANGED').waitFor({ timeout: 15_000 });
      // A change names the token that made it: `twoway up` added the demo credential with the provider's.
      assert.equal(await page.locator('tr[data-audit-type="credential.added"]', { hasText: demo.username }).locator('td.col-opt').textContent(), `bootstrap (for ${demo.username})`);
      await fits('audit');
      await shot('04-audit-refused');

      // The audit as a spreadsheet: the console's export, fetched with the token, saved as a file.
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      assert.match(csv.suggestedFilename(), new RegExp(`^twoway-audit-${demo.accountId}-\\d{4}-\\d{2}-\\d{2}T\\d{6}\\.csv$`));
      const lines = (await readFile((await csv.path())!, 'utf8')).split('\r\n');
      assert.equal(
        lines[0],
        'id,time,type,account,outcome,reason,clientId,username,certificateFingerprint,certificateSubject,certificateId,sourceAddress,traceId,source,actorKind,actorId,actorName,detail',
      );
      // The refusal just seen in the view, as a row: its type, account, outcome, reason and device.
      const rejected = lines.find((l) => l.includes(`,connect.rejected,${demo.accountId},rejected,CERT_SUSPENDED,${demo.username}-${width},${demo.username},`));
      assert.ok(rejected, `no row for the refused connect of ${demo.username}-${width} among ${lines.length - 1} rows`);
      assert.match(rejected, /^[0-9a-f-]{36},\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z,/);
      await page.getByRole('status').filter({ hasText: 'Exported CSV.' }).waitFor();

      // Restore it from the row: the device gets in again.
      await go('Certificates');
      await row.getByRole('button', { name: `Restore ${inter}` }).click();
      await page.getByRole('dialog', { name: 'Restore certificate?' }).getByRole('button', { name: 'Restore certificate' }).click();
      await row.getByText('Valid').waitFor();
      await fits('certificates after restore');
      await shot('05-restored');
      const back = await tryConnect(sys.mqttPort, tls, { clientId: `${demo.username}-${width}`, username: demo.username, password });
      sessions.push(back);
      assert.equal(back.connected, true, back.error);

      if (narrow) await page.getByRole('button', { name: 'Menu' }).click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API token').waitFor();
    });
  }
});
