import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import { logIn, type Principal } from '../auth/auth.service';
import type { TokenSettings } from '../auth/login-tokens';
import { setSessionCookie } from '../auth/session-cookie';
import { SCOPES_BY_ROLE } from '../auth/scopes';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { browserSession, isSameOrigin, ownOrigin } from '../http/authenticate';
import type { HandlerTable, OperationHandler, Schemas } from '../http/contract';
import { sendConsentPage, sendErrorPage, sendLoginPage } from './oauth.pages';
import { findClientById } from './oauth.repository';
import {
  authenticateClient,
  createOAuthServers,
  grantableScopes,
  introspectOAuthToken,
  OAuthError,
  OAuthRequest,
  OAuthResponse,
  revokeOAuthToken,
  toOAuthClient,
  type GrantUser,
  type OAuthClient,
} from './oauth.service';

/** The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3). */
const AUTHORIZE_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'] as const;
type AuthorizeParams = Partial<Record<(typeof AUTHORIZE_PARAMS)[number], string>>;

const UNKNOWN_CLIENT = 'The app is not registered with fourfold (or not with your organization).';
const BAD_REDIRECT = 'The redirect URI is missing or is not one registered for this app. For your safety you were not sent there.';

function pickParams(source: Record<string, unknown>): AuthorizeParams {
  const params: AuthorizeParams = {};
  for (const name of AUTHORIZE_PARAMS) {
    const value = source[name];
    if (typeof value === 'string' && value !== '') params[name] = value;
  }
  return params;
}

/** RFC 6749 §4.1.2.1: errors the client must hear of go back to its (verified) redirect URI. */
function redirectWithError(req: Request, res: Response, params: AuthorizeParams, error: string, description: string): void {
  const target = new URL(params.redirect_uri!);
  target.searchParams.set('error', error);
  target.searchParams.set('error_description', description);
  if (params.state) target.searchParams.set('state', params.state);
  target.searchParams.set('iss', ownOrigin(req));
  res.redirect(303, target.toString());
}

/** The protocol checks the library leaves to us: PKCE S256 (required of public clients) and scope names. */
function requestProblem(params: AuthorizeParams, client: OAuthClient): [string, string] | undefined {
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

function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter((s) => s !== '');
}

export function oauthHandlers(db: Db, tokens: TokenSettings): HandlerTable<'getAuthorizationServerMetadata' | 'authorizeClient' | 'approveAuthorization' | 'createBrowserSession' | 'createOAuthToken' | 'revokeOAuthToken' | 'introspectOAuthToken'> {
  const servers = createOAuthServers(db);

  /** Bound to the session and to every parameter of the request the consent page was shown for. */
  const csrfTokenFor = (session: Principal, params: AuthorizeParams): string =>
    createHmac('sha256', tokens.secret)
      .update(JSON.stringify(['oauth-consent', session.credential.id, ...AUTHORIZE_PARAMS.map((name) => params[name] ?? '')]))
      .digest('base64url');

  /** The client, if it exists and the redirect URI is exactly one of its own; else an error page, no redirect. */
  const verifiedClient = async (res: Response, params: AuthorizeParams): Promise<OAuthClient | undefined> => {
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
  };

  const returnToOf = (params: AuthorizeParams) =>
    `/oauth/authorize?${new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString()}`;

  const authorizeClient: OperationHandler<'authorizeClient'> = async (req, res) => {
    const params = pickParams(req.query as Record<string, unknown>);
    const client = await verifiedClient(res, params);
    if (!client) return;
    const problem = requestProblem(params, client);
    if (problem) return redirectWithError(req, res, params, ...problem);
    const session = await browserSession(db, tokens, req);
    if (!session) return sendLoginPage(res, { status: 200, returnTo: returnToOf(params), clientName: client.name });
    if (session.organizationId !== client.organizationId) return sendErrorPage(res, 400, 'This app cannot be authorized', UNKNOWN_CLIENT);
    const requested = [...new Set(splitScope(params.scope))];
    const granted = grantableScopes(requested, client, session.role) ?? [];
    if (granted.length === 0) {
      return redirectWithError(req, res, params, 'invalid_scope', 'None of the requested scopes can be granted to this app for this user.');
    }
    sendConsentPage(res, {
      clientName: client.name,
      username: session.member.username,
      granted,
      withheld: requested.filter((scope) => !(granted as string[]).includes(scope)),
      redirectOrigin: new URL(params.redirect_uri!).origin,
      fields: { ...params, csrf_token: csrfTokenFor(session, params) },
    });
  };

  const approveAuthorization: OperationHandler<'approveAuthorization'> = async (req, res) => {
    const body = req.body as Schemas['AuthorizationDecision'];
    if (!isSameOrigin(req)) return sendErrorPage(res, 403, 'This request cannot be trusted', 'The form was not sent from this site.');
    const params = pickParams(body);
    const client = await verifiedClient(res, params);
    if (!client) return;
    const session = await browserSession(db, tokens, req);
    if (!session) return sendLoginPage(res, { status: 200, returnTo: returnToOf(params), clientName: client.name });
    if (session.organizationId !== client.organizationId) return sendErrorPage(res, 400, 'This app cannot be authorized', UNKNOWN_CLIENT);
    const expected = Buffer.from(csrfTokenFor(session, params));
    const presented = Buffer.from(body.csrf_token);
    if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
      return sendErrorPage(res, 403, 'This request cannot be trusted', 'The form has expired or was not issued to you. Start again from the app.');
    }
    const problem = requestProblem(params, client);
    if (problem) return redirectWithError(req, res, params, ...problem);
    if (body.decision !== 'approve') return redirectWithError(req, res, params, 'access_denied', 'The user denied the request.');

    const user: GrantUser = { id: session.userId, organizationId: session.organizationId, role: session.role };
    const request = new OAuthRequest({ headers: {}, method: 'POST', query: {}, body: params });
    const response = new OAuthResponse();
    try {
      await servers.authorization.authorize(request, response, { authenticateHandler: { handle: () => user } });
    } catch (error) {
      // Errors after the client and redirect URI are verified come with a redirect to the client.
      if (!(error instanceof OAuthError) || !response.get('location') || error.code >= 500) throw error;
    }
    const target = new URL(response.get('location') as string);
    target.searchParams.set('iss', ownOrigin(req));
    res.redirect(303, target.toString());
  };

  const createBrowserSession: OperationHandler<'createBrowserSession'> = async (req, res) => {
    const body = req.body as Schemas['BrowserLogin'];
    if (!isSameOrigin(req)) return sendErrorPage(res, 403, 'This request cannot be trusted', 'The form was not sent from this site.');
    const params = pickParams(Object.fromEntries(new URLSearchParams(body.return_to.slice(body.return_to.indexOf('?') + 1))));
    const returnTo = returnToOf(params);
    try {
      const { accessToken, expiresIn } = await logIn(db, tokens, body.username, body.password);
      setSessionCookie(req, res, accessToken, expiresIn);
    } catch (error) {
      if (error instanceof AppError && error.code === 'organization_suspended') return sendErrorPage(res, 403, 'This organization is suspended', error.message);
      if (!(error instanceof AppError) || error.code !== 'invalid_credentials') throw error;
      const row = params.client_id ? await findClientById(db, params.client_id) : undefined;
      return sendLoginPage(res, { status: 401, returnTo, clientName: row?.name ?? 'the app', error: error.message });
    }
    res.redirect(303, returnTo);
  };

  const createOAuthToken: OperationHandler<'createOAuthToken'> = async (req, res) => {
    const request = new OAuthRequest({
      headers: req.headers as Record<string, string>,
      method: req.method,
      query: {},
      body: req.body,
    });
    const response = new OAuthResponse();
    try {
      await servers.token.token(request, response);
    } catch (error) {
      // The library wraps what our model throws (a suspended organization) in a server error.
      const inner = (error as { inner?: unknown }).inner;
      if (inner instanceof AppError) throw inner;
      if (!(error instanceof OAuthError) || error.code >= 500) throw error;
    }
    for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
    res.setHeader('Cache-Control', 'no-store');
    res.status(response.status ?? 200).json(response.body as Schemas['OAuthTokenResponse']);
  };

  /** RFC 6749 §2.3.1: HTTP Basic (form-encoded id and secret), or `client_id`/`client_secret` in the body. */
  const clientOf = async (req: Request, res: Response, { confidentialOnly }: { confidentialOnly: boolean }) => {
    const body = req.body as Schemas['OAuthTokenActionRequest'];
    let clientId = body.client_id;
    let clientSecret = body.client_secret;
    const basic = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(req.get('authorization') ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const decode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
      try {
        clientId = decode(decoded.slice(0, colon));
        clientSecret = decode(decoded.slice(colon + 1));
      } catch {
        clientId = undefined;
      }
    }
    const client = clientId ? await authenticateClient(db, clientId, clientSecret) : null;
    if (!client || (confidentialOnly && client.clientType !== 'confidential')) {
      if (basic) res.setHeader('WWW-Authenticate', 'Basic realm="fourfold"');
      res.status(401).json({ error: 'invalid_client', error_description: 'Invalid client: client authentication failed.' });
      return undefined;
    }
    if (!body.token) {
      res.status(400).json({ error: 'invalid_request', error_description: 'Missing parameter: `token`' });
      return undefined;
    }
    return { client, token: body.token };
  };

  const revokeOAuthTokenHandler: OperationHandler<'revokeOAuthToken'> = async (req, res) => {
    const caller = await clientOf(req, res, { confidentialOnly: false });
    if (!caller) return;
    await revokeOAuthToken(db, caller.client, caller.token);
    res.status(200).end();
  };

  const introspectOAuthTokenHandler: OperationHandler<'introspectOAuthToken'> = async (req, res) => {
    const caller = await clientOf(req, res, { confidentialOnly: true });
    if (!caller) return;
    res.setHeader('Cache-Control', 'no-store');
    res.json(await introspectOAuthToken(db, caller.client, caller.token, ownOrigin(req)));
  };

  const getAuthorizationServerMetadata: OperationHandler<'getAuthorizationServerMetadata'> = (req, res) => {
    const issuer = ownOrigin(req);
    res.json({
      issuer,
      authorization_endpoint: `${issuer}/oauth/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      revocation_endpoint: `${issuer}/oauth/revoke`,
      introspection_endpoint: `${issuer}/oauth/introspect`,
      scopes_supported: [...SCOPES_BY_ROLE.owner],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      service_documentation: `${issuer}/docs`,
    });
  };

  return {
    getAuthorizationServerMetadata,
    authorizeClient,
    approveAuthorization,
    createBrowserSession,
    createOAuthToken,
    revokeOAuthToken: revokeOAuthTokenHandler,
    introspectOAuthToken: introspectOAuthTokenHandler,
  };
}

/** Form posts (`application/x-www-form-urlencoded`) are parsed only for the OAuth endpoints. */
export function oauthFormParser(limit: number) {
  return express.urlencoded({ extended: false, limit, parameterLimit: 100 });
}
