import fs from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { useTestApp } from './support/app';
import { launchOfflineChromium } from './support/browser';

const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');

const t = useTestApp();
let server: Server;
let browser: Browser;
beforeAll(async () => {
  server = t.app.listen(0, '127.0.0.1');
  browser = await launchOfflineChromium();
});
afterAll(async () => {
  await browser?.close();
  server?.close();
});

it('renders the API reference at /docs with no network beyond this server', async () => {
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Requests that would leave this machine are recorded and cut off. (Redoc's attribution logo
  // on a CDN never gets this far: the page's Content-Security-Policy blocks it.)
  const foreign: string[] = [];
  await page.route('**', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || /^(blob|data):/.test(url)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const failed: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(`${origin}/docs`);
  // Rendered from the spec: the title, and an operation's summary from the navigation.
  await page.getByRole('heading', { name: /fourfold API/ }).first().waitFor({ timeout: 20000 });
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });

  expect(foreign).toEqual([]);
  expect(failed).toEqual([]);
  expect(errors).toEqual([]);
}, 60000);
