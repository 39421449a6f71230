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

/** Sign in to the console on its sign-in page with `token`; resolves on the first view (Certificates, unless the link named another page). */
export async function signIn(page: Page, token: string, landing = 'Certificates'): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: landing }).waitFor();
}

/** The page is no wider than the window (nothing to scroll sideways): [scrollWidth, innerWidth]. */
export const pageWidth = (page: Page): Promise<[number, number]> => page.evaluate(() => [document.scrollingElement!.scrollWidth, window.innerWidth]);

/**
 * What sticks out at this size, as readable lines (none: the layout holds):
 * - the page is wider than the window (it would scroll sideways);
 * - a control (button, link, input, select, text area, summary, switch) is cut: partly outside the
 *   window, or outside an ancestor that hides its overflow;
 * - a control lies outside a scrolling container's box (reached by scrolling it) while that container
 *   shows no cue that it scrolls (the console's tables draw a shadow on the side with more; a scrollbar
 *   that takes room counts too); such a container must itself fit, as a control would.
 * Visually hidden controls (1 px and clipped: text for screen readers, the file input behind its button)
 * and a skip link parked above the page until focused are meant to be out of sight and are passed over.
 */
export async function layoutProblems(page: Page): Promise<string[]> {
  // tsx compiles this file keeping function names, through a helper `__name` the page does not have.
  await page.evaluate('globalThis.__name ??= (f) => f');
  return page.evaluate(() => {
    const problems: string[] = [];
    const vw = document.documentElement.clientWidth;
    const vh = window.innerHeight;
    const scroller = document.scrollingElement!;
    if (scroller.scrollWidth > vw) problems.push(`the page is ${scroller.scrollWidth} px wide in a ${vw} px window`);
    const name = (el: Element): string => {
      const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      const label = (el.getAttribute('aria-label') ?? (el as HTMLInputElement).labels?.[0]?.textContent ?? el.textContent ?? '').trim().replace(/\s+/g, ' ');
      return `${el.tagName.toLowerCase()}${cls}${label ? ` “${label.slice(0, 40)}”` : ''}`;
    };
    const px = (r: DOMRect): string => `[${Math.round(r.left)}..${Math.round(r.right)}]×[${Math.round(r.top)}..${Math.round(r.bottom)}]`;
    const outOfSight = (el: HTMLElement, r: DOMRect, s: CSSStyleDeclaration): boolean =>
      (r.width === 0 && r.height === 0) || s.visibility === 'hidden' || (r.width <= 1 && r.height <= 1 && s.clip !== 'auto') || r.bottom + window.scrollY <= 0 || !!el.closest('[hidden], [inert]');
    /**
     * A scroll shadow (gradients in the background, some of them attached to the content, `local`, so
     * they uncover the shadow at the edge with more), or a scrollbar that takes room on that axis.
     */
    const cued = (c: HTMLElement, axis: 'x' | 'y'): boolean => {
      const cs = getComputedStyle(c);
      const borders = axis === 'x' ? parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth) : parseFloat(cs.borderLeftWidth) + parseFloat(cs.borderRightWidth);
      const bar = axis === 'x' ? c.offsetHeight - c.clientHeight - borders : c.offsetWidth - c.clientWidth - borders;
      return (/gradient/.test(cs.backgroundImage) && /local/.test(cs.backgroundAttachment)) || bar > 2;
    };
    const controls = document.querySelectorAll<HTMLElement>('button, a[href], input, select, textarea, summary, [role="switch"], [role="button"]');
    for (const el of Array.from(controls)) {
      let r = el.getBoundingClientRect();
      if (outOfSight(el, r, getComputedStyle(el))) continue;
      let what = name(el);
      let fixed = false;
      let cut = false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const as = getComputedStyle(a);
        if (as.position === 'fixed') fixed = true;
        if (as.overflowX === 'visible' && as.overflowY === 'visible') continue;
        const ar = a.getBoundingClientRect();
        const outX = r.left < ar.left - 1 || r.right > ar.right + 1;
        const outY = r.top < ar.top - 1 || r.bottom > ar.bottom + 1;
        if (!outX && !outY) continue;
        const scrollsX = /auto|scroll/.test(as.overflowX) && a.scrollWidth > a.clientWidth;
        const scrollsY = /auto|scroll/.test(as.overflowY) && a.scrollHeight > a.clientHeight;
        if ((outX && !scrollsX) || (outY && !scrollsY)) {
          problems.push(`${what} ${px(r)} is cut by ${name(a)} ${px(ar)} (overflow ${as.overflowX} ${as.overflowY})`);
          cut = true;
          break;
        }
        if ((outX && !cued(a, 'x')) || (outY && !cued(a, 'y'))) {
          problems.push(`${what} ${px(r)} is outside ${name(a)} ${px(ar)}, which scrolls with no visible cue`);
          cut = true;
          break;
        }
        // Reached by scrolling this container: from here on it is the container that must fit.
        r = ar;
        what = `${name(a)} (scrolling ${name(el)})`;
      }
      if (cut) continue;
      if (r.left < -1 || r.right > vw + 1 || (fixed && (r.top < -1 || r.bottom > vh + 1))) problems.push(`${what} ${px(r)} is cut by the ${vw}×${vh} window`);
    }
    return [...new Set(problems)];
  });
}
