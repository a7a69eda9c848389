import { parse as parseCookies } from 'cookie';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isDatabaseUnavailable } from '../db/unavailable';
import { AppError } from '../errors';
import { isPublic } from './operations';
import type { Principal } from './principal';

/** The HTTP-only cookie that carries a browser's login token. */
export const SESSION_COOKIE = 'fourfold_session';

/**
 * Verifies a bearer token of any kind (login token, personal access token, OAuth access token)
 * and makes its principal; throws an `AppError` (`invalid_token`, `token_expired`, ...) when it is
 * not valid. The features that issue each kind verify it; `createApp` composes them.
 */
export type BearerAuthenticator = (token: string, via: Principal['via']) => Promise<Principal>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CREDENTIAL_NAMES: Record<Principal['credential']['kind'], string> = {
  session: 'a login session',
  personal_access_token: 'a personal access token',
  oauth: 'an OAuth access token',
};

/**
 * Establishes who is calling from `Authorization: Bearer` or the session cookie, without
 * rejecting anything yet: the rate limiter keys on the result, and `requireCredentials`
 * decides, from the operation's security in the spec, whether it is enough.
 */
export function identifyCaller(authenticate: BearerAuthenticator): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const presented = presentedToken(req);
    if (presented === undefined || !res.locals.operation || isPublic(res.locals.operation)) return next();
    try {
      if (presented.token === '') throw new AppError('invalid_token', 'The Authorization header must be "Bearer <token>".');
      res.locals.principal = await authenticate(presented.token, presented.via);
    } catch (error) {
      // A database that does not answer is no verdict on the credentials: the request is still
      // counted (by IP) and then refused with the 503 (see `requireCredentials`).
      if (!(error instanceof AppError) && !isDatabaseUnavailable(error)) return next(error);
      res.locals.credentialsError = error as Error;
    }
    next();
  };
}

/**
 * This API's own origin: PUBLIC_URL's when configured (it must be in production, where the Host
 * header is the client's to choose), else the request's, for local use.
 */
export function ownOrigin(req: Request): string {
  return (req.app.get('public origin') as string | undefined) ?? `${req.protocol}://${req.get('host')}`;
}

/** Whether the request carries an `Origin` header naming this server (CSRF defence for form posts). */
export function isSameOrigin(req: Request): boolean {
  return req.get('origin') === ownOrigin(req);
}

/** Rejects requests to non-public operations without valid credentials, and cross-site cookie writes. */
export const requireCredentials: RequestHandler = (req, res, next) => {
  const { operation, principal, credentialsError } = res.locals;
  if (!operation || isPublic(operation)) return next();
  if (credentialsError) throw credentialsError;
  if (!principal) {
    throw new AppError(
      'unauthenticated',
      'This operation needs credentials. Send "Authorization: Bearer <token>" or the session cookie.',
    );
  }
  if (operation.credentialKinds && !operation.credentialKinds.includes(principal.credential.kind)) {
    throw new AppError(
      'forbidden',
      `This operation takes a login session (POST /auth/login, or the session cookie), not ${CREDENTIAL_NAMES[principal.credential.kind]}: ` +
        'a credential must not be able to mint or manage other credentials.',
    );
  }
  if (principal.via === 'cookie' && !SAFE_METHODS.has(req.method)) assertSameOrigin(req);
  next();
};

/**
 * 403 `insufficient_scope` unless the caller holds every scope the operation's security
 * requirement lists in the spec (RFC 6750 §3.1 names them in `WWW-Authenticate`).
 */
export const requireScopes: RequestHandler = (_req, res, next) => {
  const { operation, principal } = res.locals;
  if (!operation || !principal) return next();
  const held = new Set<string>(principal.scopes);
  const missing = operation.requiredScopes.filter((scope) => !held.has(scope));
  if (missing.length > 0) {
    const required = operation.requiredScopes.join(' ');
    throw new AppError(
      'insufficient_scope',
      `This operation needs the scope${operation.requiredScopes.length > 1 ? 's' : ''} ${required}; these credentials lack ${missing.join(', ')}.`,
      missing.map((scope) => ({ field: null, issue: `missing scope ${scope}` })),
      { 'WWW-Authenticate': `Bearer realm="fourfold", error="insufficient_scope", scope="${required}"` },
    );
  }
  next();
};

function presentedToken(req: Request): { token: string; via: Principal['via'] } | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer +([^\s]+) *$/i.exec(header);
    return { token: match?.[1] ?? '', via: 'authorization_header' };
  }
  const cookie = req.headers.cookie ? parseCookies(req.headers.cookie)[SESSION_COOKIE] : undefined;
  return cookie ? { token: cookie, via: 'cookie' } : undefined;
}

/**
 * CSRF defence for cookie-authenticated writes: browsers send `Origin` with every cross-site
 * (and same-origin) unsafe request, and a page on another origin cannot forge it.
 */
function assertSameOrigin(req: Request): void {
  if (!isSameOrigin(req)) {
    throw new AppError(
      'csrf_check_failed',
      `A request authenticated by the session cookie must carry an Origin header naming this API's origin (${ownOrigin(req)}).`,
    );
  }
}

/** The caller of an operation that requires credentials (`requireCredentials` has let it through). */
export function principalOf(res: Response): Principal {
  const { principal } = res.locals;
  if (!principal) throw new Error('principalOf called on a request that has no principal');
  return principal;
}
