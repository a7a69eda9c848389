import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from '../errors';

/**
 * One budget per minute per caller: per credential (login session, token) when authenticated, per client IP
 * otherwise. Sends `X-RateLimit-Limit/Remaining/Reset` (Reset in epoch seconds, as the spec
 * says) on every response, and `Retry-After` with the 429.
 *
 * The counters live in this process's memory for now: several API processes each count their
 * own share until a store shared by all of them replaces the default one.
 */
export function rateLimitPerCaller(limitPerMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: limitPerMinute,
    standardHeaders: false,
    legacyHeaders: true,
    keyGenerator: (req, res) => {
      const principal = res.locals.principal;
      return principal ? `${principal.credential.kind}:${principal.credential.id}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    handler: (_req, res, next) => {
      next(new AppError('rate_limited', `Too many requests; try again in ${String(res.getHeader('Retry-After'))} seconds.`));
    },
  });
}
