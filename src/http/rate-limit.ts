import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { AppError } from '../errors';
import type { RateLimitStoreFactory } from './rate-limit-store';

interface Budget {
  /** Names the budget's counters in the store, so no two budgets share one. */
  name: string;
  limit: number;
  windowMs: number;
  /** Whom the request counts against, or `undefined` when this budget does not apply to it. */
  key(req: Request, res: Response): string | undefined;
  /** Whose budget the headers of a request that spends none (`x-rate-limit-budget: none`) show, unspent. */
  peek?(req: Request, res: Response): string | undefined;
}

/**
 * The budgets every request counts against, once the caller is known (after `identifyCaller`):
 * - `default`: per credential, `perMinute` requests a window (`windowSeconds`, a minute by default);
 * - `heavy`: per credential, `heavyPerMinute` a window, for the operations the spec marks
 *   `x-rate-limit-budget: heavy` (those count only here, not against `default`);
 * - `ip`: per client IP for requests without valid credentials, `perMinute` a window.
 */
export function rateLimitPerCaller(
  settings: Config['rateLimits'],
  stores: RateLimitStoreFactory,
  logger: Logger,
): RequestHandler[] {
  const credential = (res: Response) => {
    const principal = res.locals.principal;
    if (!principal) return undefined;
    // An OAuth app's budget is per client and user: refreshing, which makes a new token, must not reset it.
    const { credential: c } = principal;
    return c.kind === 'oauth' ? `oauth:${c.clientId}:${principal.userId}` : `${c.kind}:${c.id}`;
  };
  const isHeavy = (res: Response) => res.locals.operation?.rateLimitBudget === 'heavy';
  // Probes (`/health`) spend nothing, so that a load balancer polling from one address never
  // takes the budget of the clients behind it, nor is refused itself.
  const isFree = (res: Response) => res.locals.operation?.rateLimitBudget === 'none';
  const windowMs = settings.windowSeconds * 1000;
  const budgets: Budget[] = [
    {
      name: 'default',
      limit: settings.perMinute,
      windowMs,
      key: (_req, res) => (isHeavy(res) || isFree(res) ? undefined : credential(res)),
      peek: (_req, res) => (isFree(res) ? credential(res) : undefined),
    },
    {
      name: 'heavy',
      limit: settings.heavyPerMinute,
      windowMs,
      key: (_req, res) => (isHeavy(res) ? credential(res) : undefined),
    },
    {
      name: 'ip',
      limit: settings.perMinute,
      windowMs,
      key: (req, res) => (res.locals.principal || isFree(res) ? undefined : clientIp(req)),
      peek: (req, res) => (!res.locals.principal && isFree(res) ? clientIp(req) : undefined),
    },
  ];
  return budgets.map((budget) => enforce(budget, stores, logger));
}

/**
 * The extra budgets of the operations the spec marks `x-rate-limit-budget: login` (every form
 * that checks a password, including a password change's current one), against password guessing; they need the parsed,
 * validated body, so they run after the request validator:
 * - `login-username`: attempts per username (lower-cased, as usernames are case-insensitive),
 *   from any IP, so spreading guesses over many addresses does not help. The default, 10 per
 *   15 minutes (960 a day), leaves a person who mistypes room for several tries, and keeps an
 *   online attack on one account to a few hundred thousand guesses a year, hopeless against the
 *   ≥ 12-character passwords we hand out. Successful logins count too: a script that logs in
 *   over and over should use a personal access token instead.
 * - `login-ip`: attempts per client IP over all usernames, against one address trying one
 *   common password on many accounts. Higher by default (100 per 15 minutes), since an office
 *   or a NAT puts many people behind one address.
 */
export function rateLimitLogin(settings: Config['rateLimits'], stores: RateLimitStoreFactory, logger: Logger): RequestHandler[] {
  const isLogin = (res: Response) => res.locals.operation?.rateLimitBudget === 'login';
  const windowMs = settings.loginWindowSeconds * 1000;
  const budgets: Budget[] = [
    {
      name: 'login-ip',
      limit: settings.loginPerIp,
      windowMs,
      key: (req, res) => (isLogin(res) ? clientIp(req) : undefined),
    },
    {
      name: 'login-username',
      limit: settings.loginPerUsername,
      windowMs,
      key: (req, res) => {
        // A signed-in caller proving their password again (a password change) spends their own budget.
        const username = (req.body as { username?: unknown } | undefined)?.username ?? res.locals.principal?.member.username;
        return isLogin(res) && typeof username === 'string' ? username.toLowerCase() : undefined;
      },
    },
  ];
  return budgets.map((budget) => enforce(budget, stores, logger));
}

/**
 * Self-service sign-ups (operations marked `x-rate-limit-budget: signup`) per client IP and hour,
 * against mass creation of organizations. While sign-up is switched off nothing counts, so it
 * answers its `404` every time rather than a `429` after a few tries.
 */
export function rateLimitSignup(settings: Config['rateLimits'], stores: RateLimitStoreFactory, logger: Logger, options: { enabled: boolean }): RequestHandler {
  return enforce(
    {
      name: 'signup-ip',
      limit: settings.signupPerHour,
      windowMs: 3_600_000,
      key: (req, res) => (options.enabled && res.locals.operation?.rateLimitBudget === 'signup' ? clientIp(req) : undefined),
    },
    stores,
    logger,
  );
}

function clientIp(req: Request): string {
  // One key per IPv6 /56, since one subscriber usually holds a whole prefix.
  return ipKeyGenerator(req.ip ?? 'unknown');
}

/**
 * Counts the request against `budget` and answers 429 `rate_limited` once it is spent. The
 * `X-RateLimit-*` headers describe the tightest of the budgets the request counted against.
 */
function enforce(budget: Budget, stores: RateLimitStoreFactory, logger: Logger): RequestHandler {
  const store = stores(budget.name);
  const limiter = rateLimit({
    windowMs: budget.windowMs,
    limit: budget.limit,
    store,
    // The headers are written below, so that several budgets can agree on one set.
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req, res) => budget.key(req, res) ?? '',
    logger,
    handler: (req, res, next) => {
      const info = (req as Request & { rateLimit: RateLimitInfo }).rateLimit;
      res.locals.rateLimit = undefined;
      report(res, info);
      const retryAfter = Math.max(0, Math.ceil(((info.resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
      next(
        new AppError('rate_limited', `Too many requests; try again in ${retryAfter} seconds.`, [], {
          'Retry-After': String(retryAfter),
        }),
      );
    },
  });
  /** The budget of `key` as it stands, counting nothing; whole when the store cannot tell. */
  const unspent = async (key: string): Promise<RateLimitInfo> => {
    const counted = await Promise.resolve(store.get?.(key)).catch(() => undefined);
    const used = counted?.totalHits ?? 0;
    const resetTime = counted?.resetTime ?? new Date(Date.now() + budget.windowMs);
    return { limit: budget.limit, used, remaining: Math.max(0, budget.limit - used), resetTime, key };
  };
  return (req, res, next) => {
    if (budget.key(req, res) === undefined) {
      const peek = budget.peek?.(req, res);
      if (peek === undefined) return next();
      void unspent(peek).then((info) => {
        report(res, info);
        next();
      }, next);
      return;
    }
    void limiter(req, res, (error?: unknown) => {
      if (error !== undefined) return next(error);
      report(res, (req as Request & { rateLimit: RateLimitInfo }).rateLimit);
      next();
    });
  };
}

/** Sends `info` as the `X-RateLimit-*` headers unless an earlier budget of this request is tighter. */
function report(res: Response, info: RateLimitInfo): void {
  const current = res.locals.rateLimit;
  const tighter =
    !current ||
    info.remaining < current.remaining ||
    (info.remaining === current.remaining && (info.resetTime?.getTime() ?? 0) > (current.resetTime?.getTime() ?? 0));
  if (!tighter) return;
  res.locals.rateLimit = info;
  res.setHeader('X-RateLimit-Limit', String(info.limit));
  res.setHeader('X-RateLimit-Remaining', String(info.remaining));
  res.setHeader('X-RateLimit-Reset', String(Math.ceil((info.resetTime?.getTime() ?? Date.now()) / 1000)));
}
