import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import { OWNER, useTestApp } from './support/app';
import { launchOfflineChromium } from './support/browser';
import { authorizeQuery, pkce, registerClient, tokenRequest } from './support/oauth';

const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');

const t = useTestApp();
let server: Server;
let callbackServer: Server;
let browser: Browser;
/** What the client's redirect URI (a local server standing in for the app) received. */
const callbacks: string[] = [];

beforeAll(async () => {
  server = t.app.listen(0, '127.0.0.1');
  callbackServer = http
    .createServer((req, res) => {
      callbacks.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>App</title><h1>Signed in to the app</h1>');
    })
    .listen(0, '127.0.0.1');
  browser = await launchOfflineChromium();
});
afterAll(async () => {
  await browser?.close();
  server?.close();
  callbackServer?.close();
});

it('runs the authorization-code flow with PKCE in a real browser: log in, approve, exchange, call, refresh, revoke', async () => {
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const redirectUri = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`;
  const client = await registerClient(t.app, await t.ownerToken(), {
    name: 'Acme CLI',
    client_type: 'public',
    redirect_uris: [redirectUri],
    scopes: ['findings:read', 'audits:read'],
  });
  const { verifier, challenge } = pkce();

  const page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });

  await page.goto(
    `${origin}/oauth/authorize?${authorizeQuery({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: redirectUri,
      scope: 'findings:read audits:read',
      state: 'browser-state-42',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })}`,
  );

  // No session yet: the login page.
  await page.getByRole('heading', { name: 'Log in to fourfold' }).waitFor();
  await page.getByLabel('Username').fill(OWNER.username);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Log in' }).click();

  // The consent page names the app and the scopes in words.
  await page.getByRole('heading', { name: /Acme CLI wants to access your fourfold account/ }).waitFor();
  const scopes = await page.locator('#scopes li').allTextContents();
  expect(scopes).toEqual(['Read findings, their history and scores. findings:read', 'Read audits and their results. audits:read']);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'oauth-consent.png'), fullPage: true });

  await page.getByRole('button', { name: 'Approve' }).click();
  await page.waitForURL(`${redirectUri}?**`);
  await page.getByRole('heading', { name: 'Signed in to the app' }).waitFor();
  expect(errors).toEqual([]);

  // The app's side: the code came to its redirect URI with the state and the issuer.
  const landed = new URL(page.url());
  expect(callbacks.filter((url) => url.startsWith('/callback'))).toEqual([`${landed.pathname}${landed.search}`]);
  expect(landed.searchParams.get('state')).toBe('browser-state-42');
  expect(landed.searchParams.get('iss')).toBe(origin);
  const code = landed.searchParams.get('code')!;
  expect(code).toMatch(/^ffc_/);

  const tokens = await tokenRequest(t.app, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: client.id, code_verifier: verifier });
  expect(tokens.status).toBe(200);
  expect(tokens.body.scope).toBe('findings:read audits:read');

  const me = await request(t.app).get('/v1/me').set('Authorization', `Bearer ${tokens.body.access_token}`);
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ user: { username: OWNER.username }, role: 'owner', scopes: ['findings:read', 'audits:read'] });

  const refreshed = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: client.id });
  expect(refreshed.status).toBe(200);
  await request(t.app).get('/v1/me').set('Authorization', `Bearer ${refreshed.body.access_token}`).expect(200);

  await request(t.app).post('/oauth/revoke').type('form').send({ token: refreshed.body.refresh_token, client_id: client.id }).expect(200);
  await request(t.app).get('/v1/me').set('Authorization', `Bearer ${refreshed.body.access_token}`).expect(401);
  const afterRevoke = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token, client_id: client.id });
  expect(afterRevoke.body.error).toBe('invalid_grant');
}, 60000);
