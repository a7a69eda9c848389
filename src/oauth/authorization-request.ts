import type { Request, Response } from 'express';
import type { Db } from '../db/database';
import { ownOrigin } from '../http/authenticate';
import { sendErrorPage } from './oauth.pages';
import { findClientById } from './oauth.repository';
import { grantableScopes, toOAuthClient, type OAuthClient } from './oauth.service';

/** The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3). */
export const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const;
export type AuthorizeParams = Partial<Record<(typeof AUTHORIZE_PARAMS)[number], string>>;

export const UNKNOWN_CLIENT = 'The app is not registered with fourfold (or not with your organization).';
const BAD_REDIRECT = 'The redirect URI is missing or is not one registered for this app. For your safety you were not sent there.';

/** The authorization-request parameters among `source` (a query, a form): the non-empty strings. */
export function pickParams(source: Record<string, unknown>): AuthorizeParams {
  const params: AuthorizeParams = {};
  for (const name of AUTHORIZE_PARAMS) {
    const value = source[name];
    if (typeof value === 'string' && value !== '') params[name] = value;
  }
  return params;
}

/** Where the browser resumes the authorization request after logging in. */
export function returnToOf(params: AuthorizeParams): string {
  return `/oauth/authorize?${new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString()}`;
}

export function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s !== '');
}

/** The client, if it exists and the redirect URI is exactly one of its own; else an error page, no redirect. */
export async function verifiedClient(db: Db, res: Response, params: AuthorizeParams): Promise<OAuthClient | undefined> {
  const row = params.client_id ? await findClientById(db, params.client_id) : undefined;
  if (!row) {
    sendErrorPage(res, 400, 'This app cannot be authorized', UNKNOWN_CLIENT);
    return undefined;
  }
  if (!params.redirect_uri || !row.redirect_uris.includes(params.redirect_uri)) {
    sendErrorPage(res, 400, 'This app cannot be authorized', BAD_REDIRECT);
    return undefined;
  }
  return toOAuthClient(row);
}

/** The protocol checks the library leaves to us: PKCE S256 (required of public clients) and scope names. */
export function requestProblem(params: AuthorizeParams, client: OAuthClient): [string, string] | undefined {
  if (params.response_type !== 'code') return ['unsupported_response_type', 'response_type must be "code".'];
  if (!params.state) return ['invalid_request', 'state is required.'];
  if (params.code_challenge !== undefined || params.code_challenge_method !== undefined) {
    if (params.code_challenge_method !== 'S256') return ['invalid_request', 'code_challenge_method must be "S256".'];
    if (!/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge ?? '')) {
      return ['invalid_request', 'code_challenge must be the base64url SHA-256 of the code verifier (43 characters).'];
    }
  } else if (client.clientType === 'public') {
    return ['invalid_request', 'PKCE is required for public clients: send code_challenge and code_challenge_method=S256.'];
  }
  if (grantableScopes(splitScope(params.scope), client, 'owner') === null) {
    return ['invalid_scope', 'scope must list one or more known scopes, separated by spaces.'];
  }
  return undefined;
}

/** RFC 6749 §4.1.2.1: errors the client must hear of go back to its (verified) redirect URI. */
export function redirectWithError(req: Request, res: Response, params: AuthorizeParams, error: string, description: string): void {
  const target = new URL(params.redirect_uri!);
  target.searchParams.set('error', error);
  target.searchParams.set('error_description', description);
  if (params.state) target.searchParams.set('state', params.state);
  target.searchParams.set('iss', ownOrigin(req));
  res.redirect(303, target.toString());
}
