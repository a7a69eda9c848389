import type { Request, Response } from 'express';
import { SESSION_COOKIE } from '../http/authenticate';

/** The `fourfold_session` cookie: HTTP-only, SameSite=Lax, Secure over https. */
function cookieOptions(req: Request) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: req.secure, path: '/' };
}

/** Sets the browser session cookie to a login token (`POST /auth/login`, the OAuth login page). */
export function setSessionCookie(req: Request, res: Response, token: string, expiresInSeconds: number): void {
  res.cookie(SESSION_COOKIE, token, { ...cookieOptions(req), maxAge: expiresInSeconds * 1000 });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
}
