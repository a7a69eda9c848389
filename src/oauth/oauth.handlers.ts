import express from 'express';
import { browserSession, logIn } from '../auth/auth.service';
import type { TokenSettings } from '../auth/login-tokens';
import { sessionClientOf, setSessionCookie } from '../auth/session-cookie';
import { SCOPES_BY_ROLE } from '../auth/scopes';
import type { Db } from '../db/database';
import { AppError } from '../errors';
import { isSameOrigin, ownOrigin } from '../http/authenticate';
import type { HandlerTable, OperationHandler, Schemas } from '../http/contract';
import { pickParams, redirectWithError, requestProblem, returnToOf, splitScope, UNKNOWN_CLIENT, verifiedClient } from './authorization-request';
import { authenticateTokenClient } from './client-authentication';
import { consentCsrfToken, isConsentCsrfToken } from './consent-csrf';
import { sendConsentPage, sendErrorPage, sendLoginPage } from './oauth.pages';
import { findClientById } from './oauth.repository';
import {
  createOAuthServers,
  grantableScopes,
  introspectOAuthToken,
  OAuthError,
  OAuthRequest,
  OAuthResponse,
  revokeOAuthToken,
  type GrantUser,
} from './oauth.service';

export function oauthHandlers(db: Db, tokens: TokenSettings): HandlerTable<'getAuthorizationServerMetadata' | 'authorizeClient' | 'approveAuthorization' | 'createBrowserSession' | 'createOAuthToken' | 'revokeOAuthToken' | 'introspectOAuthToken'> {
  const servers = createOAuthServers(db);

  const authorizeClient: OperationHandler<'authorizeClient'> = async (req, res) => {
    const params = pickParams(req.query as Record<string, unknown>);
    const client = await verifiedClient(db, res, params);
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
      fields: { ...params, csrf_token: consentCsrfToken(tokens.secret, session.credential.id, params) },
    });
  };

  const approveAuthorization: OperationHandler<'approveAuthorization'> = async (req, res) => {
    const body = req.body as Schemas['AuthorizationDecision'];
    if (!isSameOrigin(req)) return sendErrorPage(res, 403, 'This request cannot be trusted', 'The form was not sent from this site.');
    const params = pickParams(body);
    const client = await verifiedClient(db, res, params);
    if (!client) return;
    const session = await browserSession(db, tokens, req);
    if (!session) return sendLoginPage(res, { status: 200, returnTo: returnToOf(params), clientName: client.name });
    if (session.organizationId !== client.organizationId) return sendErrorPage(res, 400, 'This app cannot be authorized', UNKNOWN_CLIENT);
    if (!isConsentCsrfToken(tokens.secret, session.credential.id, params, body.csrf_token)) {
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
      const { accessToken, expiresIn } = await logIn(db, tokens, body.username, body.password, sessionClientOf(req));
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
    res.status(response.status ?? 200).json(response.body as Schemas['OAuthTokenResponse']);
  };

  const revokeOAuthTokenHandler: OperationHandler<'revokeOAuthToken'> = async (req, res) => {
    const caller = await authenticateTokenClient(db, req, res, { confidentialOnly: false });
    if (!caller) return;
    await revokeOAuthToken(db, caller.client, caller.token);
    res.status(200).end();
  };

  const introspectOAuthTokenHandler: OperationHandler<'introspectOAuthToken'> = async (req, res) => {
    const caller = await authenticateTokenClient(db, req, res, { confidentialOnly: true });
    if (!caller) return;
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
