import { createHash, randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';

/** The host the tests pretend to be, so form posts can carry a matching `Origin`. */
export const HOST = 'fourfold.test';
export const ORIGIN = `http://${HOST}`;

export interface RegisteredClient {
  id: string;
  client_secret: string | null;
  redirect_uris: string[];
}

export async function registerClient(
  app: Express,
  adminToken: string,
  overrides: Partial<{ name: string; client_type: 'confidential' | 'public'; redirect_uris: string[]; scopes: string[] }> = {},
): Promise<RegisteredClient> {
  const response = await request(app)
    .post('/v1/oauth-clients')
    .set('Authorization', `Bearer ${adminToken}`)
    .send({
      name: 'Acme dashboard',
      client_type: 'confidential',
      redirect_uris: ['https://app.example.com/callback'],
      scopes: ['findings:read', 'audits:read'],
      ...overrides,
    })
    .expect(201);
  return response.body as RegisteredClient;
}

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export type AuthorizeParams = Record<string, string | undefined>;

export function authorizeQuery(params: AuthorizeParams): string {
  return new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
}

/** GET /oauth/authorize with the session cookie. */
export function getAuthorize(app: Express, sessionToken: string | undefined, params: AuthorizeParams) {
  const req = request(app).get(`/oauth/authorize?${authorizeQuery(params)}`).set('Host', HOST);
  return sessionToken ? req.set('Cookie', `fourfold_session=${sessionToken}`) : req;
}

export function csrfTokenOf(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no csrf_token in the page: ${html}`);
  return match[1]!;
}

/** Shows the consent page and approves it (or `decision`); answers the redirect's URL. */
export async function consent(app: Express, sessionToken: string, params: AuthorizeParams, decision = 'approve'): Promise<URL> {
  const page = await getAuthorize(app, sessionToken, params).expect(200);
  const response = await request(app)
    .post('/oauth/authorize')
    .set('Host', HOST)
    .set('Origin', ORIGIN)
    .set('Cookie', `fourfold_session=${sessionToken}`)
    .type('form')
    .send({ ...Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)), csrf_token: csrfTokenOf(page.text), decision });
  if (response.status !== 303) throw new Error(`consent answered ${response.status}: ${response.text}`);
  return new URL(response.headers.location as string);
}

export function tokenRequest(app: Express, form: Record<string, string | undefined>) {
  return request(app)
    .post('/oauth/token')
    .type('form')
    .send(Object.fromEntries(Object.entries(form).filter(([, v]) => v !== undefined)));
}
