// The browser the console tests drive: Debian's chromium through playwright-core, headless, one
// profile per launch (the caller removes it after closing the context).
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TWOWAY_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** `skip` option of a describe that needs the browser. */
export const needsChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;

export function launch(userDataDir: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport, chromiumSandbox: false, acceptDownloads: true });
}

/** The page is no wider than the window (nothing to scroll sideways): [scrollWidth, innerWidth]. */
export const pageWidth = (page: Page): Promise<[number, number]> => page.evaluate(() => [document.scrollingElement!.scrollWidth, window.innerWidth]);
