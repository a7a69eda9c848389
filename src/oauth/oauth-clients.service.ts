import { PLATFORM_SCOPE } from '../auth/scopes';
import type { Db } from '../db/database';
import { AppError, type ErrorDetail } from '../errors';
import { newId } from '../ids';
import type { Schemas } from '../http/contract';
import { generateSecret, hashSecret } from '../secrets';
import { CLIENT_SECRET_PREFIX } from './oauth-secrets';
import { insertClient } from './oauth.repository';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Redirect URIs are compared exactly, so each must be a complete, absolute URI: https, or http
 * on a loopback host for native apps (RFC 8252 §7.3), without a fragment (RFC 6749 §3.1.2).
 */
function redirectUriProblems(uris: readonly string[]): ErrorDetail[] {
  return uris.flatMap((uri, index) => {
    const field = `body.redirect_uris.${index}`;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return [{ field, issue: 'is not an absolute URI' }];
    }
    if (uri.includes('#')) return [{ field, issue: 'must not have a fragment' }];
    if (url.protocol === 'https:') return [];
    if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return [];
    return [{ field, issue: 'must use https (http only on 127.0.0.1, [::1] or localhost)' }];
  });
}

/** Registers a client; a confidential client's secret is in the answer and nowhere else. */
export async function registerClient(db: Db, organizationId: string, input: Schemas['OAuthClientCreate']) {
  const problems = redirectUriProblems(input.redirect_uris);
  if (problems.length > 0) throw new AppError('invalid_redirect_uri', 'A redirect URI is not acceptable; see details.', problems);
  // No consent can grant the operator's scope, so a client registered for it would only mislead.
  if (input.scopes.includes(PLATFORM_SCOPE)) {
    throw new AppError('validation_failed', `An OAuth client cannot ask for ${PLATFORM_SCOPE}.`, [
      { field: 'body.scopes', issue: `${PLATFORM_SCOPE} is held only by platform operators' login sessions` },
    ]);
  }
  const secret = input.client_type === 'confidential' ? generateSecret(CLIENT_SECRET_PREFIX) : null;
  const row = await insertClient(db, {
    id: newId('cli'),
    organization_id: organizationId,
    name: input.name,
    client_type: input.client_type,
    secret_hash: secret === null ? null : hashSecret(secret),
    redirect_uris: input.redirect_uris,
    scopes: input.scopes,
  });
  return { row, secret };
}
