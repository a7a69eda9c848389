import type { Request, Response } from 'express';
import { SESSION_COOKIE } from '../http/authenticate';
import type { SessionClient } from './sessions.service';

function cookieOptions(req: Request) {
  return { httpOnly: true, sameSite: 'lax' as const, secure: req.secure, path: '/' };
}

/** The browser session: the login token in an HTTP-only cookie, `Secure` when served over https. */
export function setSessionCookie(req: Request, res: Response, token: string, expiresInSeconds: number): void {
  res.cookie(SESSION_COOKIE, token, { ...cookieOptions(req), maxAge: expiresInSeconds * 1000 });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
}

/** What a new session records of the client that opened it. */
export function sessionClientOf(req: Request): SessionClient {
  return { userAgent: req.get('user-agent') ?? null, ipAddress: req.ip ?? null };
}
