import { createHmac, timingSafeEqual } from 'node:crypto';
import { AUTHORIZE_PARAMS, type AuthorizeParams } from './authorization-request';

/**
 * The CSRF token of the consent form: bound to the browser session's credential and to every
 * parameter of the authorization request the consent page was shown for.
 */
export function consentCsrfToken(secret: string, sessionCredentialId: string, params: AuthorizeParams): string {
  return createHmac('sha256', secret)
    .update(JSON.stringify(['oauth-consent', sessionCredentialId, ...AUTHORIZE_PARAMS.map((name) => params[name] ?? '')]))
    .digest('base64url');
}

/** Whether `presented` is the consent form's CSRF token for this session and request (compared in constant time). */
export function isConsentCsrfToken(secret: string, sessionCredentialId: string, params: AuthorizeParams, presented: string): boolean {
  const expected = Buffer.from(consentCsrfToken(secret, sessionCredentialId, params));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
