import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ulid } from 'ulidx';
import type { Config } from '../config';
import { AppError } from '../errors';

export interface TokenSettings extends Omit<Config['jwt'], 'secret'> {
  secret: string;
}

// jsonwebtoken first tries a string secret as a public key and fails (an exception each time,
// about a tenth of a request's CPU) before it takes it as an HMAC secret: hand it the key made once.
const keys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

export interface LoginTokenClaims {
  userId: string;
  organizationId: string;
  jti: string;
  expiresAt: Date;
}

export function signLoginToken(settings: TokenSettings, userId: string, organizationId: string): string {
  return jwt.sign({ org: organizationId }, keyOf(settings.secret), {
    algorithm: settings.algorithm,
    issuer: settings.issuer,
    audience: settings.audience,
    subject: userId,
    expiresIn: settings.ttlSeconds,
    jwtid: ulid(),
  });
}

/** Verifies signature, algorithm, issuer, audience and expiry; throws 401-class AppErrors. */
export function verifyLoginToken(settings: TokenSettings, token: string): LoginTokenClaims {
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, keyOf(settings.secret), {
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
