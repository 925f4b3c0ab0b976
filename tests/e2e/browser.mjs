// Debian's Chromium, headless, driven by Playwright (playwright-core: no browser download), in a throw-away profile:
// what every end-to-end test here opens its page in.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

/** A fresh browser and its first page; close() ends the browser and deletes its profile. */
export async function openBrowser() {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'restgres-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  const close = async () => {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  };
  return { context, page, close };
}
