import jwt from 'jsonwebtoken';
import type { Config } from '../config';
import { AppError } from '../errors';
import type { SigningKeyring } from './signing-keys';

export interface TokenSettings extends Omit<Config['jwt'], 'secret'> {
  /** The configured secret; it keys HMACs such as the consent form's CSRF token. */
  secret: string;
  /** The keys that sign and verify login tokens (see signing-keys.ts). */
  keys: SigningKeyring;
  /** Usernames (lower case) of the platform operators named by PLATFORM_ADMINS. */
  platformAdmins: readonly string[];
}

export interface LoginTokenClaims {
  userId: string;
  organizationId: string;
  jti: string;
  expiresAt: Date;
}

/** Signs the login token of a session: its `jti` is the session's id, its expiry `ttlSeconds` after `issuedAt`. */
export async function signLoginToken(
  settings: TokenSettings,
  session: { id: string; userId: string; organizationId: string; issuedAt: Date },
): Promise<string> {
  const { kid, key } = await settings.keys.signingKey();
  return jwt.sign({ org: session.organizationId, iat: Math.floor(session.issuedAt.getTime() / 1000) }, key, {
    ...(kid ? { keyid: kid } : {}),
    algorithm: settings.algorithm,
    issuer: settings.issuer,
    audience: settings.audience,
    subject: session.userId,
    expiresIn: settings.ttlSeconds,
    jwtid: session.id,
  });
}

/** When a token signed at `issuedAt` expires: JWT times are whole seconds. */
export function loginTokenExpiry(settings: TokenSettings, issuedAt: Date): Date {
  return new Date((Math.floor(issuedAt.getTime() / 1000) + settings.ttlSeconds) * 1000);
}

/** Verifies signature, algorithm, issuer, audience and expiry; throws 401-class AppErrors. */
export async function verifyLoginToken(settings: TokenSettings, token: string): Promise<LoginTokenClaims> {
  const header = jwt.decode(token, { complete: true })?.header;
  const kid = typeof header?.kid === 'string' ? header.kid : undefined;
  // The kid only picks among our own keys; an unknown or retired one is refused like a bad signature.
  const key = header ? await settings.keys.verificationKey(kid) : undefined;
  if (header && !key) throw new AppError('invalid_token', 'The token is not valid: it was signed with a key that is unknown or retired.');
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key ?? '', {
      algorithms: [settings.algorithm],
      issuer: settings.issuer,
      audience: settings.audience,
    });
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) {
      throw new AppError('token_expired', 'The token has expired. Log in again.');
    }
    throw new AppError('invalid_token', `The token is not valid: ${(error as Error).message}.`);
  }
  if (
    typeof payload === 'string' ||
    typeof payload.sub !== 'string' ||
    typeof payload.org !== 'string' ||
    typeof payload.jti !== 'string' ||
    typeof payload.exp !== 'number'
  ) {
    throw new AppError('invalid_token', 'The token is not valid: it lacks the sub, org, jti or exp claim.');
  }
  return { userId: payload.sub, organizationId: payload.org, jti: payload.jti, expiresAt: new Date(payload.exp * 1000) };
}
