import { chromium, type Browser } from 'playwright-core';
import { requireChromium } from './system-tools';

/**
 * Debian's Chromium, headless, with every host but 127.0.0.1 unresolvable: pages under test
 * get no network beyond this machine's own server.
 */
export async function launchOfflineChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireChromium(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
}
