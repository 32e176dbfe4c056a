import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureChromium } from '../../deploy/local/install';

/**
 * Debian's Chromium, headless, driven by playwright-core (installed by deploy/local/install.ts when
 * missing). The background-networking flags keep it from calling Google on a closed network.
 */
export function launchChromium(): Promise<Browser> {
  const executablePath = ensureChromium(() => undefined);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ], // playwright gives a launched browser a new empty profile of its own
  });
}

/** Content-Security-Policy refusals a page logged: a page that needs something its CSP forbids is broken. */
export function collectCspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) seen.push(m.text());
  });
  return seen;
}

/** Writes a PNG of the page when SCREENSHOTS_DIR is set (npm run console:screenshots); otherwise does nothing. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOTS_DIR;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
